/**
 * Reads and parses the JSON body once, within the size limit: 415 for a non-JSON content type, 413 as
 * soon as the declared or received size passes the limit (without reading the rest), 400 for bad JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { DeadlineQueue } from '../http/deadline-queue.js';
import type { Stage } from './context.js';

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return true; // tolerated: some clients omit it; the body must still parse
  if (value === 'application/json') return true; // what the SDKs send: no split, trim or lower-casing
  const type = value.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Collects the body with plain listeners rather than for-await: leaving a for-await early destroys the
 * socket, and the client would then never see the 413.
 */
function collect(
  req: IncomingMessage,
  maxBytes: number,
  slowBodies: DeadlineQueue<() => void>,
): Promise<Buffer | 'too-large' | 'too-slow'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // A client that trickles its body must not hold a connection and a request slot forever.
    const tooSlow = (): void => {
      cleanup();
      req.pause();
      resolve('too-slow');
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new GatewayError('client_closed', 'client closed while sending the body', { cause: error }));
    };
    const onClose = (): void => {
      if (!req.complete) onError(new Error('aborted'));
    };
    const cleanup = (): void => {
      slowBodies.delete(tooSlow);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    slowBodies.add(tooSlow);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooLarge(res: ServerResponse, maxBytes: number): GatewayError {
  // The rest of the body is never read, so the connection cannot be reused: close it after answering.
  res.shouldKeepAlive = false;
  return new GatewayError('payload_too_large', `body is larger than the limit of ${maxBytes} bytes`);
}

export function readBody(maxBytes: number, timeoutMs: number): Stage {
  // One watch for every body being read rather than a timer each (http/deadline-queue.ts).
  const slowBodies = new DeadlineQueue<() => void>(timeoutMs, (tooSlow) => tooSlow());
  return async (ctx, next) => {
    const req = ctx.req;
    const contentType = req.headers['content-type'];
    if (!isJsonContentType(contentType)) {
      throw new GatewayError(
        'unsupported_media_type',
        `content-type must be application/json, got ${JSON.stringify(contentType).slice(0, 80)}`,
      );
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(ctx.res, maxBytes);
    const body = await collect(req, maxBytes, slowBodies);
    if (body === 'too-large') throw tooLarge(ctx.res, maxBytes);
    if (body === 'too-slow') {
      ctx.res.shouldKeepAlive = false;
      throw new GatewayError('request_timeout', `the request body did not arrive within ${timeoutMs} ms`);
    }
    if (body.length === 0) throw new GatewayError('invalid_json', 'body: required (a JSON object)');
    ctx.bodyBytes = body;
    try {
      ctx.json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new GatewayError(
        'invalid_json',
        `body: invalid JSON (${(error as Error).message.slice(0, 200)})`,
      );
    }
    return next();
  };
}
