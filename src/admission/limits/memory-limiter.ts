/**
 * Limits for one process. Every decision runs synchronously from check to commit, so on Node's single
 * thread it is atomic without locks: admitted into all of a request's limits or none. The API returns
 * Promises only to match RedisLimiter.
 *
 * rpm and tpm use GCRA (gcra.ts). Concurrency is a set of live leases per subject, each with an expiry,
 * so that a lease a caller forgot to settle frees its slot after `leaseTtlMs` instead of leaking.
 * Expired state is swept lazily during acquire(), never by a timer: tests stay deterministic and a
 * limiter needs no shutdown to let the process exit.
 */
import { randomUUID } from 'node:crypto';
import { epochMs, gcraAdjust, gcraCheck } from './gcra.js';
import {
  checkTokens,
  defaultConcurrencyRetryMs,
  defaultLeaseTtlMs,
  limitEntries,
  tooLargeFor,
  type Decision,
  type Lease,
  type LimitEntry,
  type Limiter,
  type LimiterOptions,
  type LimitSpec,
  type Reservation,
} from './limiter.js';

export interface MemoryLimiterOptions extends LimiterOptions {
  /** The clock for settle() and release(), and for acquire() without an explicit `now`. */
  now?: () => number;
}

/** Sweep expired subjects after this many decisions: amortised O(1), bounded memory for idle subjects. */
const sweepEvery = 1_024;

export class MemoryLimiter implements Limiter {
  private readonly tats = new Map<string, number>();
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly clock: () => number;
  private readonly leaseTtlMs: number;
  private readonly concurrencyRetryMs: number;
  private decisions = 0;

  constructor(options: MemoryLimiterOptions = {}) {
    this.clock = options.now ?? Date.now;
    this.leaseTtlMs = options.leaseTtlMs ?? defaultLeaseTtlMs;
    this.concurrencyRetryMs = options.concurrencyRetryMs ?? defaultConcurrencyRetryMs;
  }

  async acquire(specs: readonly LimitSpec[], tokens: number, now?: number): Promise<Decision> {
    return this.decide(specs, tokens, (now ?? this.clock()) - epochMs);
  }

  async close(): Promise<void> {
    this.tats.clear();
    this.leases.clear();
  }

  private decide(specs: readonly LimitSpec[], tokens: number, now: number): Decision {
    checkTokens(tokens);
    const entries = limitEntries(specs);
    const tooLarge = tooLargeFor(entries, tokens);
    if (tooLarge) return tooLarge;
    if (++this.decisions % sweepEvery === 0) this.sweep(now);

    // Check every limit before taking any, and report the refusal that lasts longest.
    const nextTats: Array<[string, number]> = [];
    let refusal: Extract<Decision, { limit: unknown }> | undefined;
    for (const entry of entries) {
      const id = subjectId(entry);
      let retryAfterMs = 0;
      let remaining: number;
      if (entry.kind === 'concurrency') {
        const held = this.liveLeases(id, now);
        remaining = Math.max(0, entry.limit - held.size);
        if (remaining === 0) {
          const oldest = Math.min(...held.values());
          retryAfterMs = Math.max(1, Math.min(this.concurrencyRetryMs, oldest - now));
        }
      } else {
        const check = gcraCheck(this.tats.get(id), now, entry.limit, entry.kind === 'rpm' ? 1 : tokens);
        if (check.admitted) nextTats.push([id, check.tat]);
        retryAfterMs = check.retryAfterMs;
        remaining = check.remaining;
      }
      if (retryAfterMs > 0 && (refusal === undefined || retryAfterMs > refusal.retryAfterMs)) {
        refusal = {
          admitted: false,
          limit: { key: entry.key, kind: entry.kind },
          retryAfterMs: Math.ceil(retryAfterMs),
          remaining,
        };
      }
    }
    if (refusal) return refusal;

    for (const [id, tat] of nextTats) this.tats.set(id, tat);
    const leaseId = randomUUID();
    const concurrencyIds = entries.filter((e) => e.kind === 'concurrency').map(subjectId);
    for (const id of concurrencyIds) {
      let held = this.leases.get(id);
      if (!held) this.leases.set(id, (held = new Map()));
      held.set(leaseId, now + this.leaseTtlMs);
    }
    const tpm = entries.filter((e) => e.kind === 'tpm');
    return { admitted: true, lease: new MemoryLease(this, leaseId, { tokens }, tpm, concurrencyIds) };
  }

  /** @internal MemoryLease's hooks. */
  adjustTokens(tpm: readonly LimitEntry[], delta: number): void {
    if (delta === 0) return;
    const now = this.clock() - epochMs;
    for (const entry of tpm) {
      const id = subjectId(entry);
      this.tats.set(id, gcraAdjust(this.tats.get(id), now, entry.limit, delta));
    }
  }

  /** @internal */
  releaseSlots(leaseId: string, concurrencyIds: readonly string[]): void {
    for (const id of concurrencyIds) {
      const held = this.leases.get(id);
      held?.delete(leaseId);
      if (held?.size === 0) this.leases.delete(id);
    }
  }

  private liveLeases(id: string, now: number): Map<string, number> {
    const held = this.leases.get(id) ?? new Map<string, number>();
    for (const [leaseId, expiresAt] of held) if (expiresAt <= now) held.delete(leaseId);
    return held;
  }

  /** A tat in the past is the same as no state; a subject without live leases likewise. */
  private sweep(now: number): void {
    for (const [id, tat] of this.tats) if (tat <= now) this.tats.delete(id);
    for (const id of [...this.leases.keys()]) {
      if (this.liveLeases(id, now).size === 0) this.leases.delete(id);
    }
  }
}

class MemoryLease implements Lease {
  private settled = false;
  private released = false;

  constructor(
    private readonly limiter: MemoryLimiter,
    readonly id: string,
    readonly reservation: Reservation,
    private readonly tpm: readonly LimitEntry[],
    private readonly concurrencyIds: readonly string[],
  ) {}

  async settle(actualTokens: number): Promise<void> {
    checkTokens(actualTokens);
    if (!this.settled) {
      this.settled = true;
      this.limiter.adjustTokens(this.tpm, actualTokens - this.reservation.tokens);
    }
    await this.release();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.limiter.releaseSlots(this.id, this.concurrencyIds);
  }
}

function subjectId(entry: LimitEntry): string {
  return `${entry.kind}\u0000${entry.key}`;
}
