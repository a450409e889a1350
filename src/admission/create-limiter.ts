/**
 * The limiter for keys' and teams' limits, on the configured state backend: in process, or Redis shared by
 * every replica. None at all when nothing has a limit, so such a gateway pays nothing for it. With Redis
 * unreachable at start, `state.on_error: open` starts with per-replica limits until Redis answers
 * (failover-limiter.ts), `closed` refuses to start.
 */
import { accountsEnabled } from '../accounts/create-account-store.js';
import type { Config } from '../config/schema.js';
import type { Limiter } from './limits/limiter.js';
import { MemoryLimiter } from './limits/memory-limiter.js';

const hasLimits = (limits: { rpm?: number; tpm?: number; concurrency?: number } | undefined): boolean =>
  limits !== undefined &&
  (limits.rpm !== undefined || limits.tpm !== undefined || limits.concurrency !== undefined);

/** Whether admission has any limit to take: keys', teams' or models' (client quotas). */
export function hasQuotas(config: Config): boolean {
  return (
    config.keys.some((k) => hasLimits(k.limits)) ||
    config.teams.some((t) => hasLimits(t.limits)) ||
    config.models.some((m) => hasLimits(m.limits))
  );
}

/** Targets' limits go through the limiter only when it is shared; in one process routing keeps them. */
function hasSharedTargetLimits(config: Config): boolean {
  return (
    config.state.backend === 'redis' && config.models.some((m) => m.targets.some((t) => hasLimits(t.limits)))
  );
}

export async function createLimiter(config: Config): Promise<Limiter | undefined> {
  // With the admin API any key or team may be given limits while the gateway runs.
  if (!hasQuotas(config) && !hasSharedTargetLimits(config) && !accountsEnabled(config)) return undefined;
  if (config.state.backend === 'memory') return new MemoryLimiter();
  const { RedisLimiter } = await import('./limits/redis-limiter.js');
  const { FailoverLimiter } = await import('./limits/failover-limiter.js');
  const primary = new RedisLimiter({ url: config.state.redis_url, prefix: config.state.key_prefix });
  const limiter = new FailoverLimiter(primary, {
    failOpen: config.state.on_error === 'open',
    replicas: config.state.replicas,
  });
  try {
    await primary.start();
    await limiter.announce();
  } catch (error) {
    if (config.state.on_error === 'closed') {
      await limiter.close();
      throw error;
    }
    // ioredis keeps reconnecting; until it does, limits are this replica's share (failover-limiter.ts).
    limiter.startDegraded(error);
  }
  return limiter;
}
