/**
 * The HTTP side every network provider shares: one undici Pool per provider (keep-alive across requests),
 * the attempt's deadline as the request signal, transport failures and error statuses mapped to
 * GatewayErrors. Provider adapters only build the request and translate the answer.
 */
import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { UpstreamCall } from '../provider.js';
import type { AttemptDeadline } from './attempt-deadline.js';
import { transportError } from './transport-errors.js';
import { Pool, requestOn } from './undici-parts.js';
import { readOpenAIError, upstreamHttpError, type ErrorBodyReader } from './upstream-errors.js';
import { WholeAnswer, type WholeResponse } from './whole-answer.js';

// An upstream error body is read for its message only; a larger one is cut rather than buffered whole.
const maxErrorBodyBytes = 64 * 1024;

export interface UpstreamRequest {
  /** Path after the base URL's own path, with any query string. */
  path: string;
  /** Flat [name, value, ...] list: undici takes it as is, without walking and lower-casing an object. */
  headers: string[];
  body: string | Buffer;
  method?: 'POST' | 'GET';
}

export class UpstreamHttp {
  readonly origin: string;
  /** The base URL's path without a trailing slash ('' for a bare origin). */
  readonly basePath: string;
  private readonly pool: Pool;

  constructor(
    private readonly config: ProviderConfig,
    baseUrl: string,
    private readonly readError: ErrorBodyReader = readOpenAIError,
  ) {
    const base = new URL(baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: config.max_connections,
      connect: { timeout: config.timeouts.connect_ms },
      // Upstreams commonly close idle sockets after ~5 s; undici's default of 4 s stays under that.
      keepAliveTimeout: 4_000,
    });
  }

  /** Sends the request; resolves with the response once its headers arrived, whatever the status. */
  async send(
    request: UpstreamRequest,
    call: UpstreamCall<unknown>,
    deadline: AttemptDeadline,
  ): Promise<Dispatcher.ResponseData> {
    try {
      const response = await requestOn(this.pool, {
        path: this.basePath + request.path,
        method: request.method ?? 'POST',
        headers: withTraceContext(request.headers, call),
        body: request.body,
        signal: deadline,
        // Non-stream answers arrive whole after generation, so only total_ms (the deadline) bounds them.
        headersTimeout: call.stream ? call.timeouts.ttft_ms : call.timeouts.total_ms,
        bodyTimeout: call.timeouts.idle_ms,
      });
      call.onResponseHeaders?.(response.statusCode, response.headers);
      return response;
    } catch (error) {
      deadline.release();
      throw transportError(error, deadline.reason, this.config.name);
    }
  }

  /**
   * Sends and reads the whole answer (a non-stream call), then throws the mapped GatewayError when the
   * status is an error. Releases the deadline either way.
   */
  async fetchWhole(
    request: UpstreamRequest,
    call: UpstreamCall<unknown>,
    deadline: AttemptDeadline,
  ): Promise<WholeResponse> {
    let answer: WholeResponse;
    try {
      answer = await new Promise<WholeResponse>((resolve, reject) => {
        this.pool.dispatch(
          {
            path: this.basePath + request.path,
            method: request.method ?? 'POST',
            headers: withTraceContext(request.headers, call),
            body: request.body,
            // The answer arrives whole after generation, so only total_ms (the deadline) bounds it.
            headersTimeout: call.timeouts.total_ms,
            bodyTimeout: call.timeouts.idle_ms,
          },
          new WholeAnswer(deadline, maxErrorBodyBytes, call.onResponseHeaders, resolve, reject),
        );
      });
    } catch (error) {
      throw transportError(error, deadline.reason, this.config.name);
    } finally {
      deadline.release();
    }
    if (answer.statusCode >= 400) {
      throw upstreamHttpError(
        this.config.name,
        answer.statusCode,
        answer.headers,
        answer.body,
        this.readError,
      );
    }
    return answer;
  }

  /** Sends, then throws the mapped GatewayError when the status is an error. */
  async sendOk(
    request: UpstreamRequest,
    call: UpstreamCall<unknown>,
    deadline: AttemptDeadline,
  ): Promise<Dispatcher.ResponseData> {
    const response = await this.send(request, call, deadline);
    if (response.statusCode >= 400) {
      const body = await readCapped(response, maxErrorBodyBytes).catch(() => Buffer.alloc(0));
      deadline.release();
      throw upstreamHttpError(this.config.name, response.statusCode, response.headers, body, this.readError);
    }
    return response;
  }

  /** Reads a whole answer body and releases the deadline either way. */
  async readBody(response: Dispatcher.ResponseData, deadline: AttemptDeadline): Promise<Buffer> {
    try {
      return await readWhole(response.body);
    } catch (error) {
      throw transportError(error, deadline.reason, this.config.name);
    } finally {
      deadline.release();
    }
  }

  /** Reads and parses a whole JSON answer; a body that is not JSON is the provider's fault (502). */
  async readJson(response: Dispatcher.ResponseData, deadline: AttemptDeadline): Promise<unknown> {
    return parseJsonBody(await this.readBody(response, deadline), this.config.name);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * The request's headers plus W3C trace context, added here rather than by each adapter so every provider
 * propagates it. A copy, not a push: an adapter may hand the same header list to several requests.
 * Bedrock signs its headers, but SigV4 covers only the headers it lists as signed, so these extra ones
 * leave the signature valid.
 */
function withTraceContext(headers: string[], call: UpstreamCall<unknown>): string[] {
  const parent = call.traceparent;
  if (parent === undefined) return headers;
  const state = call.tracestate;
  return state === undefined
    ? headers.concat('traceparent', parent)
    : headers.concat('traceparent', parent, 'tracestate', state);
}

/** Parses an upstream's JSON answer; a body that is not JSON is the provider's fault (502). */
export function parseJsonBody(body: Buffer, provider: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new GatewayError('upstream_error', `provider ${provider} answered with invalid JSON`, {
      cause: error,
    });
  }
}

/**
 * The whole body, by its 'data' events: an answer usually arrives as one chunk, which is then the result
 * as is. undici's body.arrayBuffer() copies every answer into a fresh ArrayBuffer through its consume
 * machinery, which measured about 12 µs a request more in the bench's profile.
 */
function readWhole(body: Dispatcher.ResponseData['body']): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    let ended = false;
    body.once('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    body.once('error', reject);
    // Destroyed without an error (undici does so on an abort without a reason): the answer is incomplete.
    // 'close' follows every 'end' too, so the Error (and its stack) is made only when it means something.
    body.once('close', () => {
      if (!ended) reject(new Error('the answer body closed before its end'));
    });
  });
}

async function readCapped(response: Dispatcher.ResponseData, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      response.body.destroy();
      break;
    }
  }
  return Buffer.concat(parts);
}
