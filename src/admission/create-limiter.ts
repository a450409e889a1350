/**
 * The limiter for keys' and teams' limits, on the configured state backend: in process, or Redis shared by
 * every replica. None at all when no key or team has a limit, so such a gateway pays nothing for it. With
 * Redis unreachable at start, `state.on_error: open` falls back to per-replica limits (and says so),
 * `closed` refuses to start.
 */
import type { Config } from '../config/schema.js';
import type { Limiter } from './limits/limiter.js';
import { MemoryLimiter } from './limits/memory-limiter.js';

const hasLimits = (limits: { rpm?: number; tpm?: number; concurrency?: number } | undefined): boolean =>
  limits !== undefined &&
  (limits.rpm !== undefined || limits.tpm !== undefined || limits.concurrency !== undefined);

export async function createLimiter(config: Config): Promise<Limiter | undefined> {
  if (!config.keys.some((k) => hasLimits(k.limits)) && !config.teams.some((t) => hasLimits(t.limits))) {
    return undefined;
  }
  if (config.state.backend === 'memory') return new MemoryLimiter();
  const { openRedisLimiter } = await import('./limits/redis-limiter.js');
  try {
    return await openRedisLimiter({ url: config.state.redis_url });
  } catch (error) {
    if (config.state.on_error === 'closed') throw error;
    process.emitWarning(
      `sluice: Redis unreachable for limits (${error instanceof Error ? error.message : String(error)}); limits are per replica until restart`,
    );
    return new MemoryLimiter();
  }
}
