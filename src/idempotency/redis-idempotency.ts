/**
 * Idempotency keys in Redis, shared by the replicas: a hash per key at `<prefix>idem:<scope>` with the
 * body's fingerprint and, once complete, the response (status, headers as JSON, body). A claim is one Lua
 * script (create-if-absent, or report); a repeat that finds the key running polls it every 50 ms.
 */
import type { Redis, Result } from 'ioredis';
import { closeStateClient, createStateClient, openStarted } from '../state/redis-client.js';
import type { Claim, IdempotencyStore, StoredResponse } from './idempotency-store.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sluiceIdemClaim(numberOfKeys: number, ...keysAndArgs: string[]): Result<string[], Context>;
    sluiceIdemRelease(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** KEYS: the key's hash. ARGV: fingerprint, lock ms. Returns {'owner'}, {'mismatch'}, {'running'} or {'done'}. */
const claimScript = `
local fp = redis.call('HGET', KEYS[1], 'fp')
if not fp then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'running')
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return {'owner'}
end
if fp ~= ARGV[1] then return {'mismatch'} end
return {redis.call('HGET', KEYS[1], 'state')}
`;

/** KEYS: the key's hash. ARGV: fingerprint. Deletes a running claim of this fingerprint. */
const releaseScript = `
if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'running' then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

const pollMs = 50;

export async function openRedisIdempotencyStore(options: {
  url: string;
  prefix: string;
}): Promise<RedisIdempotencyStore> {
  return openStarted(new RedisIdempotencyStore(options));
}

export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly client: Redis;
  private readonly prefix: string;
  private closed = false;

  constructor(options: { url: string; prefix: string }) {
    this.prefix = `${options.prefix}idem:`;
    this.client = createStateClient(options.url, { commandTimeoutMs: 2_000 });
    this.client.defineCommand('sluiceIdemClaim', { lua: claimScript });
    this.client.defineCommand('sluiceIdemRelease', { lua: releaseScript });
  }

  async start(): Promise<void> {
    await this.client.connect();
  }

  async claim(scope: string, fingerprint: string, lockMs: number): Promise<Claim> {
    const key = this.prefix + scope;
    const [state] = await this.client.sluiceIdemClaim(1, key, fingerprint, String(lockMs));
    if (state === 'owner' || state === 'mismatch' || state === 'running') return { kind: state };
    const [status, headers, body] = await this.client.hmgetBuffer(key, 'status', 'headers', 'body');
    // Expired between the two calls: claim again.
    if (status == null || headers == null || body == null) return this.claim(scope, fingerprint, lockMs);
    return {
      kind: 'done',
      response: {
        status: Number(status.toString()),
        headers: JSON.parse(headers.toString()) as Record<string, string>,
        body,
      },
    };
  }

  async complete(scope: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    const key = this.prefix + scope;
    await this.client
      .multi()
      .hset(key, {
        fp: fingerprint,
        state: 'done',
        status: String(response.status),
        headers: JSON.stringify(response.headers),
        body: response.body,
      })
      .pexpire(key, ttlMs)
      .exec();
  }

  async release(scope: string, fingerprint: string): Promise<void> {
    await this.client.sluiceIdemRelease(1, this.prefix + scope, fingerprint);
  }

  changed(_scope: string, maxMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, maxMs)).unref());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeStateClient(this.client);
  }
}
