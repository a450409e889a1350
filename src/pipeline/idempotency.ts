/**
 * `Idempotency-Key` on POST (docs/idempotency.md): placed after authentication and the body, before
 * anything that counts or bills (limits, budgets, the ledger), so a replay costs nothing and is billed
 * nothing.
 *
 * - Scope: the virtual key's name and the header's value; a fingerprint: SHA-256 of the route and the
 *   body's bytes. Same key, same body: the stored answer, with `x-sluice-idempotent-replay: true`. Same
 *   key, another body: 422 `idempotency_key_reused`.
 * - The first request's answer is captured as it is written (status, headers, every body chunk, the
 *   events of a stream included) and stored when it completes with a 2xx and no error; anything else
 *   frees the key, so a retry runs again.
 * - A repeat while the first still runs waits for it (up to `idempotency.wait_ms`), then gets its answer:
 *   for a stream, the whole event sequence at once. Waiting past that is a 409 `idempotency_in_progress`.
 * - The store unreachable (Redis away): with `state.on_error: open` the request runs without the
 *   guarantee (a repeat may run again), with `closed` it is a 503 `state_unavailable`.
 */
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import type { IdempotencyStore, StoredResponse } from '../idempotency/idempotency-store.js';
import { cacheResult, publish, type CacheEvent } from '../observability/events.js';
import type { Next, RequestContext, Stage } from './context.js';
import { serverTiming } from './response-headers.js';

const validKey = /^[\x21-\x7e]{1,255}$/;

/** Headers worth replaying: the answer's type and the gateway's own (which target answered, etc.). */
function keptHeaders(headers: OutgoingHttpHeaders | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  if (headers === undefined) return kept;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || lower === 'content-length' || lower === 'transfer-encoding') continue;
    if (lower === 'content-type' || lower.startsWith('x-sluice-') || lower === 'cache-control')
      kept[lower] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return kept;
}

/** Wraps writeHead, write and end of this one response to keep a copy of what the client is sent. */
function capture(res: ServerResponse): () => StoredResponse {
  let status = 200;
  let headers: Record<string, string> = {};
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown): void => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.writeHead = ((code: number, ...rest: unknown[]) => {
    status = code;
    const last = rest[rest.length - 1];
    if (typeof last === 'object' && last !== null && !Array.isArray(last))
      headers = keptHeaders(last as OutgoingHttpHeaders);
    return writeHead(code, ...rest);
  }) as ServerResponse['writeHead'];
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') keep(chunk);
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
  return () => ({ status, headers, body: Buffer.concat(chunks) });
}

function report(ctx: RequestContext, result: CacheEvent['result']): void {
  if (cacheResult.hasSubscribers) publish(cacheResult, { ctx, cache: 'idempotency', result });
}

function replay(ctx: RequestContext, response: StoredResponse): void {
  ctx.status = response.status;
  report(ctx, 'replayed');
  ctx.res.writeHead(response.status, {
    ...response.headers,
    'x-sluice-request-id': ctx.id,
    'x-sluice-idempotent-replay': 'true',
    // This request's own timing (the stored answer's is not kept: it would describe another request).
    'server-timing': serverTiming(ctx, performance.now()),
    'content-length': response.body.length,
  });
  ctx.res.end(response.body);
}

export interface IdempotencyOptions {
  ttlMs: number;
  waitMs: number;
  /** `state.on_error: open`: with the store unreachable, run the request without the guarantee. */
  failOpen: boolean;
}

export function idempotency(store: IdempotencyStore, options: IdempotencyOptions): Stage {
  const keyed = async (ctx: RequestContext, next: Next, header: string | string[]): Promise<void> => {
    if (typeof header !== 'string' || !validKey.test(header)) {
      throw new GatewayError('invalid_request', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const scope = `${ctx.key?.name ?? 'anonymous'}:${header}`;
    const fingerprint = createHash('sha256')
      .update(ctx.route)
      .update('\u0000')
      .update(ctx.bodyBytes ?? Buffer.alloc(0))
      .digest('base64');
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      let claim;
      try {
        claim = await store.claim(scope, fingerprint, options.waitMs);
      } catch (error) {
        if (options.failOpen) return next();
        throw new GatewayError('state_unavailable', 'the idempotency state is unreachable', {
          retryAfterSeconds: 1,
          cause: error,
        });
      }
      if (claim.kind === 'done') return replay(ctx, claim.response);
      if (claim.kind === 'mismatch') {
        report(ctx, 'conflict');
        throw new GatewayError(
          'idempotency_mismatch',
          'this Idempotency-Key was used with another request body; use a new key for a new request',
        );
      }
      if (claim.kind === 'owner') break;
      const left = deadline - Date.now();
      if (left <= 0 || ctx.clientGone.aborted) {
        report(ctx, 'in_progress');
        throw new GatewayError(
          'idempotency_in_progress',
          'a request with this Idempotency-Key is still running',
        );
      }
      await store.changed(scope, Math.min(left, 1_000));
    }
    const captured = capture(ctx.res);
    let stored = false;
    try {
      await next();
      const response = captured();
      if (ctx.error === undefined && response.status >= 200 && response.status < 300) {
        await store.complete(scope, fingerprint, response, options.ttlMs);
        stored = true;
        report(ctx, 'stored');
      }
    } finally {
      if (!stored) await store.release(scope, fingerprint).catch(() => undefined);
    }
  };
  // Without the header (nearly every request), not an async stage: next()'s own promise is returned.
  return (ctx, next) => {
    const header = ctx.req.headers['idempotency-key'];
    return header === undefined ? next() : keyed(ctx, next, header);
  };
}
