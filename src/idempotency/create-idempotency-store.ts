/**
 * The idempotency store on the configured state backend: in process, or Redis shared by the replicas.
 * With Redis and `state.on_error: open`, a Redis that does not answer at start does not stop the gateway:
 * the client keeps reconnecting, and meanwhile requests run without the guarantee (pipeline/idempotency.ts);
 * with `closed` the gateway does not start.
 */
import type { Config } from '../config/schema.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { MemoryIdempotencyStore } from './memory-idempotency.js';

export async function createIdempotencyStore(config: Config): Promise<IdempotencyStore> {
  if (config.state.backend === 'memory') return new MemoryIdempotencyStore();
  const { openRedisIdempotencyStore, RedisIdempotencyStore } = await import('./redis-idempotency.js');
  const options = { url: config.state.redis_url, prefix: config.state.key_prefix };
  if (config.state.on_error === 'closed') return openRedisIdempotencyStore(options);
  const store = new RedisIdempotencyStore(options);
  store.start().catch(() => undefined);
  return store;
}
