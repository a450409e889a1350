/**
 * The Redis limiter with a policy for when Redis is away (`state.on_error`).
 *
 * - `open` (the default): a decision Redis cannot take is taken by a MemoryLimiter in this replica, with
 *   every limit divided by the replica count (concurrency rounded down, at least 1), so that N replicas
 *   together stay near the limit instead of each admitting all of it. The count is the one last seen in
 *   Redis: every replica announces itself there every few seconds (a sorted set scored by Redis time), or
 *   `state.replicas` when set. A replica that never reached Redis knows only itself (1) unless
 *   `state.replicas` says more; operators who run several replicas should set it.
 * - `closed`: the decision fails, and the admit stage answers 503 `state_unavailable` (the request never
 *   reaches an upstream).
 *
 * Either way the outage is reported once when it starts and once when it ends (`onStateChange`, which the
 * gateway turns into a log line and the `sluice_state_degraded` gauge), and ioredis keeps reconnecting in
 * the background. While degraded, Redis is asked again as soon as its connection is back, so the answers
 * are the shared ones again from the first decision after recovery; the local counters are then dropped
 * (the next outage starts from a full local bucket, never from stale debt).
 *
 * Bound while degraded: each replica admits its share, limit/N per window, plus what its fresh local
 * bucket allows at the start of the outage (GCRA starts full): at most 2x the limit across the fleet in the
 * first window, the limit per window after that, provided N is right. A lease taken from Redis and settled
 * during the outage is not refunded (its settle fails): the safe side.
 *
 * A request that fits the shared limit but not this replica's share is refused with a 429 for a window,
 * not the 4xx of a request that could never fit: once Redis is back it fits again.
 */
import { randomUUID } from 'node:crypto';
import {
  limitEntries,
  tooLargeFor,
  windowMs,
  type Decision,
  type Limiter,
  type LimiterHealth,
  type LimitSpec,
  type StateChange,
} from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';
import type { RedisLimiter } from './redis-limiter.js';

export interface FailoverOptions {
  /** `state.on_error === 'open'`. */
  failOpen: boolean;
  /** `state.replicas`: a fixed replica count instead of the one announced in Redis. */
  replicas?: number | undefined;
  /** How often this replica announces itself; it counts as alive for three periods. */
  announceEveryMs?: number;
}

export class FailoverLimiter implements Limiter, LimiterHealth {
  private readonly primary: RedisLimiter;
  private readonly failOpen: boolean;
  private readonly fixedReplicas: number | undefined;
  private readonly id = randomUUID();
  private readonly announceEveryMs: number;
  private readonly timer: NodeJS.Timeout;
  private local = new MemoryLimiter();
  private seenReplicas = 1;
  private probing = false;
  /** True while Redis cannot take decisions. */
  degraded = false;
  /** Decisions taken locally because Redis was away (a counter for metrics). */
  localDecisions = 0;
  /** Called on each transition; the gateway logs it. */
  onStateChange: ((change: StateChange) => void) | undefined;

  constructor(primary: RedisLimiter, options: FailoverOptions) {
    this.primary = primary;
    this.failOpen = options.failOpen;
    this.fixedReplicas = options.replicas;
    this.announceEveryMs = options.announceEveryMs ?? 5_000;
    this.timer = setInterval(() => void this.announce(), this.announceEveryMs).unref();
  }

  get health(): LimiterHealth {
    return this;
  }

  /** The replica count that divides limits while degraded. */
  get replicas(): number {
    return this.fixedReplicas ?? this.seenReplicas;
  }

  /** Announces this replica and learns the count; a failure marks the state degraded. */
  async announce(): Promise<void> {
    try {
      this.seenReplicas = Math.max(1, await this.primary.announce(this.id, this.announceEveryMs * 3));
      this.recovered();
    } catch (error) {
      this.degrade(error);
    }
  }

  async acquire(specs: readonly LimitSpec[], tokens: number): Promise<Decision> {
    if (!this.degraded) {
      try {
        return await this.primary.acquire(specs, tokens);
      } catch (error) {
        // A bad argument is a bug to surface, not an outage.
        if (error instanceof RangeError) throw error;
        this.degrade(error);
        if (!this.failOpen) throw error;
        return this.acquireLocally(specs, tokens);
      }
    }
    // Degraded: one decision at a time asks Redis again once its connection is back (a Redis that
    // accepts connections but does not answer costs that one request the command timeout, not all).
    if (this.primary.ready && !this.probing) {
      this.probing = true;
      try {
        const decision = await this.primary.acquire(specs, tokens);
        this.recovered();
        return decision;
      } catch (error) {
        if (error instanceof RangeError || !this.failOpen) throw error;
      } finally {
        this.probing = false;
      }
    } else if (!this.failOpen) {
      throw new Error('the Redis state backend is unreachable');
    }
    return this.acquireLocally(specs, tokens);
  }

  /** Marks the state degraded from the start: Redis did not answer when the gateway started. */
  startDegraded(error: unknown): void {
    this.degrade(error);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.primary.ready) await this.primary.withdraw(this.id).catch(() => undefined);
    await Promise.all([this.primary.close(), this.local.close()]);
  }

  private async acquireLocally(specs: readonly LimitSpec[], tokens: number): Promise<Decision> {
    this.localDecisions++;
    const tooLarge = tooLargeFor(limitEntries(specs), tokens);
    if (tooLarge) return tooLarge;
    const n = this.replicas;
    const shares = n === 1 ? specs : specs.map((spec) => shareOf(spec, n));
    const decision = await this.local.acquire(shares, tokens);
    if (decision.admitted || !('tooLarge' in decision)) return decision;
    // Fits the shared limit, not this replica's share of it: wait for Redis (or a window).
    return {
      admitted: false,
      limit: { key: decision.tooLarge.key, kind: 'tpm' },
      retryAfterMs: windowMs,
      remaining: 0,
    };
  }

  private degrade(error: unknown): void {
    if (this.degraded) return;
    this.degraded = true;
    this.onStateChange?.({ degraded: true, error });
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.local = new MemoryLimiter();
    this.onStateChange?.({ degraded: false });
  }
}

/** One replica's share of a subject's limits. */
export function shareOf(spec: LimitSpec, replicas: number): LimitSpec {
  const share: LimitSpec = { key: spec.key };
  if (spec.rpm !== undefined) share.rpm = spec.rpm / replicas;
  if (spec.tpm !== undefined) share.tpm = spec.tpm / replicas;
  if (spec.concurrency !== undefined)
    share.concurrency = Math.max(1, Math.floor(spec.concurrency / replicas));
  return share;
}
