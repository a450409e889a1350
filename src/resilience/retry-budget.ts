/**
 * A retry budget per provider, after Finagle's RetryBudget and Envoy's retry_budget: retries may be at most
 * `ratio` of the first attempts seen over the last `windowMs`, plus a floor of `minPerSecond` retries per
 * second so a provider with little traffic can still retry at all.
 *
 * Guarantee (tested): over any window, retries ≤ ratio · requests + minPerSecond · windowMs / 1000. Under a
 * total outage a client sending N requests makes the upstream see at most ~(1 + ratio)·N attempts (1.2× with
 * the defaults) plus the floor, however many attempts per request `max_attempts` would allow. Per-request
 * retry caps alone cannot do that: with 3 attempts each, an outage triples the load on a provider that is
 * already down, which is how retry storms keep it down.
 *
 * Counts live in a ring of 10 time buckets (rolling-counts.ts), so old traffic expires a bucket at a time
 * and the budget refills as the window moves. Every call is O(1) and allocation-free. Per replica: each
 * replica protects the upstream from its own share of traffic, which bounds the total the same way.
 *
 * Hand-written: the retry-budget implementations that exist live inside proxies (Envoy, Linkerd) or
 * whole-policy libraries whose retry loop we would have to adopt; this is forty lines.
 */
import { RollingCounts } from './rolling-counts.js';

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt, 0..1 (0.2 = at most 20% extra load). */
  ratio: number;
  /** Retries per second allowed regardless of traffic (the floor). */
  minPerSecond: number;
  windowMs: number;
}

export class RetryBudget {
  private readonly ratio: number;
  private readonly floor: number;
  /** first = first attempts (requests), second = retries granted. */
  private readonly counts: RollingCounts;
  private readonly now: () => number;

  constructor(options: RetryBudgetOptions, now: () => number = Date.now) {
    this.ratio = options.ratio;
    this.floor = (options.minPerSecond * options.windowMs) / 1000;
    this.counts = new RollingCounts(options.windowMs);
    this.now = now;
  }

  /** A first attempt was sent to this provider: it earns `ratio` of a retry. */
  recordRequest(): void {
    this.counts.advance(this.now());
    this.counts.addFirst();
  }

  /**
   * May one retry be sent now? A `true` is counted at once (the retry is consumed even if the caller then
   * gives up on it), so concurrent callers cannot overspend the budget between check and send.
   */
  tryAcquire(): boolean {
    const counts = this.counts;
    counts.advance(this.now());
    // `+ 1 <=`, not `<`: the retry being granted must itself fit, so the bound holds exactly, not ±1.
    if (counts.second + 1 > this.ratio * counts.first + this.floor) return false;
    counts.addSecond();
    return true;
  }

  /** First attempts over the current window (metrics, tests). */
  get requests(): number {
    this.counts.advance(this.now());
    return this.counts.first;
  }

  /** Retries granted over the current window (metrics, tests). */
  get retries(): number {
    this.counts.advance(this.now());
    return this.counts.second;
  }
}
