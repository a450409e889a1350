/** The idempotency store on the configured state backend: in process, or Redis shared by the replicas. */
import type { Config } from '../config/schema.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { MemoryIdempotencyStore } from './memory-idempotency.js';

export async function createIdempotencyStore(config: Config): Promise<IdempotencyStore> {
  if (config.state.backend === 'memory') return new MemoryIdempotencyStore();
  const { openRedisIdempotencyStore } = await import('./redis-idempotency.js');
  return openRedisIdempotencyStore({ url: config.state.redis_url, prefix: config.state.key_prefix });
}
