/**
 * GCRA, the Generic Cell Rate Algorithm (ITU-T I.371; the form popularised by Brandur Leach's
 * "Rate limiting, cells, and GCRA" and redis-cell), for limits "L units per minute".
 *
 * State is one number per subject, the theoretical arrival time `tat` (ms): when the subject would be
 * back to an empty bucket. Each unit costs the emission interval `T = 60 000 / L` ms. A request of cost
 * `n` is admitted when `max(tat, now) + n·T - now <= 60 000`, and then `tat` becomes that sum.
 *
 * Guarantee: in ANY interval of length d, at most `L + L·d / 60 000` units are admitted. A full burst of
 * L at once is allowed, after which units return at one per T: there is no window edge at which a
 * second burst opens (the double burst of fixed windows). `retryAfter` is exact: the moment the same
 * request would be admitted if nothing else arrives.
 *
 * The Redis script (redis-limiter.ts) runs these same formulas in Lua; the conformance suite holds both
 * to the same answers.
 */
import { windowMs } from './limiter.js';

/**
 * Float rounding of `tat` must never refuse a request that fits exactly (100 of rpm 100 at one instant):
 * comparisons tolerate one microsecond, the resolution of Redis TIME, far below any emission interval.
 */
export const toleranceMs = 0.001;

/**
 * Both backends count time from this instant (2023-11-14), not from 1970: a double's rounding grows with
 * the magnitude, and ms since 2023 are 30 times smaller than ms since 1970, which keeps the rounding that
 * a tat accumulates over a window of additions far below `toleranceMs`.
 */
export const epochMs = 1_700_000_000_000;

export interface GcraCheck {
  admitted: boolean;
  /** The new tat when admitted. */
  tat: number;
  /** Until the request fits, 0 when admitted. */
  retryAfterMs: number;
  /** Units admissible now, before this request. */
  remaining: number;
}

export function gcraCheck(
  storedTat: number | undefined,
  now: number,
  limit: number,
  cost: number,
): GcraCheck {
  const interval = windowMs / limit;
  const tat = Math.max(storedTat ?? now, now);
  const next = tat + cost * interval;
  const allowAt = next - windowMs;
  const remaining = Math.max(0, Math.floor((windowMs - (tat - now)) / interval + 1e-9));
  if (allowAt - now > toleranceMs) return { admitted: false, tat, retryAfterMs: allowAt - now, remaining };
  return { admitted: true, tat: next, retryAfterMs: 0, remaining };
}

/**
 * Adds `delta` units (negative: a refund) to a subject's tat. A refund never takes tat below now: an
 * empty bucket cannot hold credit. A charge may take it past a whole window: that debt keeps the subject
 * refused until it is paid, which is what bounds tpm to "the limit plus what requests under-reserved".
 */
export function gcraAdjust(storedTat: number | undefined, now: number, limit: number, delta: number): number {
  const tat = Math.max(storedTat ?? now, now);
  return Math.max(now, tat + delta * (windowMs / limit));
}
