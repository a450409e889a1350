/**
 * The state backend named by the config (state.backend). Only cooldowns are shared state today; circuit
 * breakers and latency estimates stay per replica (docs/routing.md): they describe what this replica
 * sees of a target, and a breaker that opens fleet-wide on one replica's network trouble would do harm.
 */
import type { StateConfig } from '../config/schema.js';
import type { CooldownStore, CooldownStoreOptions } from './cooldowns.js';
import { MemoryCooldownStore } from './memory-cooldowns.js';

export type { CooldownStore, CooldownStoreOptions } from './cooldowns.js';
export { defaultCooldownPrefix } from './cooldowns.js';

/**
 * Opens the cooldown store. With `redis` and `on_error: closed` it rejects when Redis does not answer at
 * start, so a deployment that relies on shared cooldowns does not come up without them; with `open` it
 * resolves anyway, reports through `onError`, works locally and catches up when Redis comes back. Either
 * way, at runtime cooldowns fail open: a Redis outage never fails or slows a request.
 */
export async function createCooldownStore(
  state: StateConfig,
  options: CooldownStoreOptions = {},
): Promise<CooldownStore> {
  if (state.backend === 'memory') return new MemoryCooldownStore(options.now);
  // Loaded only when Redis is configured: ioredis alone is ~25 MB of resident memory.
  const { openRedisCooldownStore } = await import('./redis-cooldowns.js');
  return openRedisCooldownStore({
    url: state.redis_url,
    prefix: options.prefix ?? state.key_prefix,
    failClosed: state.on_error === 'closed',
    onError: options.onError ?? warn,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/** Without a logger, still say it once per outage rather than drop it. */
function warn(error: unknown): void {
  process.emitWarning(`cooldown store: ${error instanceof Error ? error.message : String(error)}`);
}
