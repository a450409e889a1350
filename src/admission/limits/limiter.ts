/**
 * The limits an admitted request takes: requests per minute, tokens per minute and concurrent requests,
 * for every key, team, model and target that applies to it, checked and taken in one atomic step.
 *
 * Two backends implement `Limiter` and pass one conformance suite (test/admission-limits-conformance):
 * `MemoryLimiter` (one process) and `RedisLimiter` (shared between replicas, one Lua script per decision).
 */

/** One subject's limits, e.g. `{ key: 'team:alpha', rpm: 2000 }`. An absent limit does not apply. */
export interface LimitSpec {
  /** Names the subject: `key:<id>`, `team:<name>`, `model:<name>`, `target:<provider>/<model>`. */
  key: string;
  rpm?: number;
  tpm?: number;
  concurrency?: number;
}

/** What an admission took from the tpm limits: the request's estimate plus its maximum output. */
export interface Reservation {
  tokens: number;
}

export type LimitKind = 'rpm' | 'tpm' | 'concurrency';

export type Decision =
  | { admitted: true; lease: Lease }
  | {
      admitted: false;
      /** The refusing limit that frees up last: waiting `retryAfterMs` satisfies every refusing limit. */
      limit: { key: string; kind: LimitKind };
      retryAfterMs: number;
      /** Units (requests, tokens, slots) that limit would still admit now. */
      remaining?: number;
    }
  /** The request can never fit (its tokens exceed the tpm limit itself): a 4xx, not a 429. */
  | { admitted: false; tooLarge: { key: string; kind: 'tpm'; max: number } };

/**
 * An admitted request's hold on its limits.
 * - `settle(actual)` charges or refunds the tpm difference between the reservation and the actual usage,
 *   and releases the concurrency slots.
 * - `release()` releases the concurrency slots only and keeps the whole reservation: for a client that
 *   left before the usage was known.
 * Both are idempotent: the tpm difference is applied once, even by a settle() after a release(), and
 * slots are released once.
 */
export interface Lease {
  readonly id: string;
  readonly reservation: Reservation;
  settle(actualTokens: number): Promise<void>;
  release(): Promise<void>;
}

export interface Limiter {
  /**
   * Checks every limit of `specs` for one request of `tokens` tpm reservation; admits into all or none.
   * `now` (epoch ms) is honoured by the memory backend only: the Redis backend always takes Redis `TIME`,
   * so that replicas with skewed clocks still agree.
   */
  acquire(specs: readonly LimitSpec[], tokens: number, now?: number): Promise<Decision>;
  close(): Promise<void>;
  /** A shared backend's health, for metrics: set by backends that can be degraded (failover-limiter.ts). */
  readonly health?: LimiterHealth;
}

export interface LimiterHealth {
  /** True while the shared state is unreachable and decisions are local. */
  readonly degraded: boolean;
  /** Decisions taken locally because the shared state was unreachable, since start. */
  readonly localDecisions: number;
  /** The replica count that divides limits while degraded. */
  readonly replicas: number;
  /** Called once when an outage starts and once when it ends (the gateway logs both). */
  onStateChange: ((change: StateChange) => void) | undefined;
}

export type StateChange = { degraded: true; error: unknown } | { degraded: false };

/** Every rpm and tpm limit is per minute; GCRA's burst capacity is one window's worth of the limit. */
export const windowMs = 60_000;

/** A holder that crashed without settling frees its concurrency slot after this long. */
export const defaultLeaseTtlMs = 10 * 60_000;

/**
 * A refused concurrency slot frees when some request ends, which no limiter can foresee: suggest a retry
 * after this long (or sooner, when the oldest lease expires sooner).
 */
export const defaultConcurrencyRetryMs = 1_000;

export interface LimiterOptions {
  leaseTtlMs?: number;
  concurrencyRetryMs?: number;
}

/** One limit of one spec: the unit the backends check. */
export interface LimitEntry {
  key: string;
  kind: LimitKind;
  limit: number;
}

/**
 * Flattens specs into entries, rejecting limits that are not positive finite numbers (config validation
 * should have caught them; a limiter that guessed would be wrong one way or the other) and duplicated
 * subject+kind pairs, which would be counted twice inside one decision.
 */
export function limitEntries(specs: readonly LimitSpec[]): LimitEntry[] {
  const entries: LimitEntry[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    for (const kind of ['rpm', 'tpm', 'concurrency'] as const) {
      const limit = spec[kind];
      if (limit === undefined) continue;
      if (!Number.isFinite(limit) || limit <= 0) {
        throw new RangeError(`limit ${kind} of ${spec.key} must be a positive number, got ${limit}`);
      }
      const id = `${kind}\u0000${spec.key}`;
      if (seen.has(id)) throw new RangeError(`limit ${kind} of ${spec.key} given twice`);
      seen.add(id);
      entries.push({ key: spec.key, kind, limit });
    }
  }
  return entries;
}

/** The first tpm limit the request exceeds by itself, if any: checked before any state is touched. */
export function tooLargeFor(
  entries: readonly LimitEntry[],
  tokens: number,
): Extract<Decision, { tooLarge: unknown }> | undefined {
  for (const entry of entries) {
    if (entry.kind === 'tpm' && tokens > entry.limit) {
      return { admitted: false, tooLarge: { key: entry.key, kind: 'tpm', max: entry.limit } };
    }
  }
  return undefined;
}

export function checkTokens(tokens: number): void {
  if (!Number.isFinite(tokens) || tokens < 0) {
    throw new RangeError(`tokens must be a non-negative number, got ${tokens}`);
  }
}
