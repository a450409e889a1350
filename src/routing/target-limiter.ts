/**
 * A target's own limits (config `targets[].limits`: rpm, tpm, concurrency), so routing goes around a target
 * before its provider answers 429 rather than after.
 *
 * rpm and tpm use GCRA (the Generic Cell Rate Algorithm, ITU-T I.371; the algorithm behind redis-cell and
 * Stripe's and Shopify's limiters). It keeps one number per limit, the theoretical arrival time (TAT): the
 * moment the limit would be back to full capacity. A request costing c units (1 for rpm, its tokens for
 * tpm) at `now` is admitted when max(TAT, now) + c·T − now ≤ W, where W is 60 s and T = W / limit, and then
 * TAT = max(TAT, now) + c·T. That is exactly a token bucket of capacity `limit` refilled continuously at
 * limit/W, which is how Anthropic documents its own limits ("token bucket ... continuously replenished")
 * and how OpenAI's replenish, so we stop where the provider would. Unlike a fixed window there is no edge:
 * a full burst at 0:59 leaves nothing for 1:00 but what refilled in between, never a second full burst.
 * O(1), exact, and two floats per limit.
 *
 * tpm is charged with the request's estimated tokens at acquire, and settled on release to the actual
 * tokens (the difference is refunded or charged), so a stream of underestimates cannot overrun the limit
 * for long: the overrun delays the next requests instead.
 *
 * Per replica, in memory only: N replicas each admit up to the limit, so N× in total. The state backends
 * (a later issue) will share these counters between replicas; until then, set per-replica limits.
 *
 * A limiter without limits costs nothing: tryAcquire returns one shared no-op lease, allocates nothing and
 * counts nothing (so its inFlight stays 0).
 *
 * Hand-written: limiter packages are per key over a store (rate-limiter-flexible) or timer-based queues
 * (bottleneck); this needs a synchronous admit/deny over three limits at once, on the hot path.
 */

export interface TargetLimits {
  rpm?: number;
  tpm?: number;
  concurrency?: number;
}

export interface TargetLease {
  /** Ends the request; `actualTokens` settles the tpm reservation. Idempotent: only the first call counts. */
  release(actualTokens?: number): void;
}

const WINDOW_MS = 60_000;
/** Sums of fractional intervals (60000/7 ms) round; a hair of slack keeps the last request of a full burst
 *  from being denied by that rounding. Far below any clock's resolution. */
const SLACK_MS = 1e-6;

const NOOP_LEASE: TargetLease = Object.freeze({ release(): void {} });

export class TargetLimiter {
  private readonly now: () => number;
  /** Whether any limit is set (the request path skips estimating tokens otherwise). */
  readonly limited: boolean;
  /** ms of TAT per request (rpm) and per token (tpm); 0 = no such limit. */
  private readonly requestInterval: number;
  private readonly tokenInterval: number;
  private readonly concurrency: number;
  /** Has an rpm or a tpm limit, so the clock must be read. */
  private readonly rated: boolean;
  /**
   * Each limit's TAT is kept relative to `updatedAt` ("how far ahead of now the limit is booked"), not as an
   * epoch timestamp: around 1.7e12 ms a double has only ~2e-4 ms of resolution, and thousands of
   * fractional additions would drift enough to deny a request the limit allows. Relative values stay
   * within a minute or so, where rounding is ~1e-11 ms.
   */
  private requestAhead = 0;
  private tokenAhead = 0;
  private updatedAt = Number.NEGATIVE_INFINITY;
  private active = 0;

  constructor(limits: TargetLimits, now: () => number = Date.now) {
    this.now = now;
    this.requestInterval = limits.rpm !== undefined && limits.rpm > 0 ? WINDOW_MS / limits.rpm : 0;
    this.tokenInterval = limits.tpm !== undefined && limits.tpm > 0 ? WINDOW_MS / limits.tpm : 0;
    this.concurrency =
      limits.concurrency !== undefined && limits.concurrency > 0
        ? limits.concurrency
        : Number.POSITIVE_INFINITY;
    this.limited =
      this.requestInterval > 0 || this.tokenInterval > 0 || this.concurrency !== Number.POSITIVE_INFINITY;
    this.rated = this.requestInterval > 0 || this.tokenInterval > 0;
  }

  /**
   * Admits one request estimated at `estimatedTokens`, or returns undefined when the target is at one of its
   * limits now. All limits are checked before any is charged, so a denial costs the target nothing.
   */
  tryAcquire(estimatedTokens: number): TargetLease | undefined {
    if (!this.limited) return NOOP_LEASE;
    if (this.active >= this.concurrency) return undefined;
    const tokens = estimatedTokens > 0 ? estimatedTokens : 0;
    let requestAhead = 0;
    let tokenAhead = 0;
    if (this.rated) {
      this.advance();
      if (this.requestInterval > 0) {
        requestAhead = this.requestAhead + this.requestInterval;
        if (requestAhead > WINDOW_MS + SLACK_MS) return undefined;
      }
      if (this.tokenInterval > 0) {
        // Negative after a refund: the bucket cannot be fuller than full.
        const base = this.tokenAhead > 0 ? this.tokenAhead : 0;
        tokenAhead = base + tokens * this.tokenInterval;
        // A request larger than the whole tpm would never fit: admit it when the bucket is full (base 0),
        // and let its debt hold back the requests after it, instead of starving it forever.
        if (tokenAhead > WINDOW_MS + SLACK_MS && base > 0) return undefined;
      }
      if (this.requestInterval > 0) this.requestAhead = requestAhead;
      if (this.tokenInterval > 0) this.tokenAhead = tokenAhead;
    }
    this.active++;
    return new Lease(this, tokens);
  }

  /** Requests admitted and not yet released (0 for a limiter without limits, which counts nothing). */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Milliseconds until a request of `estimatedTokens` (default 0: the smallest request) could be admitted by
   * rpm and tpm; 0 if now. Concurrency frees on a release, not on a clock: at the concurrency limit this
   * returns at least 1, meaning "not now", and the caller should treat the target as busy rather than sleep.
   */
  retryAfterMs(estimatedTokens = 0): number {
    if (!this.limited) return 0;
    let wait = 0;
    if (this.rated) {
      this.advance();
      if (this.requestInterval > 0) wait = this.requestAhead + this.requestInterval - WINDOW_MS;
      if (this.tokenInterval > 0) {
        const base = this.tokenAhead > 0 ? this.tokenAhead : 0;
        const tokens = estimatedTokens > 0 ? estimatedTokens : 0;
        // Mirror tryAcquire's oversized-request rule: such a request waits for a full bucket.
        wait = Math.max(wait, Math.min(base + tokens * this.tokenInterval - WINDOW_MS, base));
      }
    }
    if (this.active >= this.concurrency) wait = Math.max(wait, 1);
    return wait > SLACK_MS ? Math.ceil(wait - SLACK_MS) : 0;
  }

  /** Shifts the relative TATs by the time passed; O(1). A clock stepping back changes nothing. */
  private advance(): void {
    const now = this.now();
    const elapsed = now - this.updatedAt;
    if (!(elapsed > 0)) return;
    this.updatedAt = now;
    this.requestAhead = this.requestAhead > elapsed ? this.requestAhead - elapsed : 0;
    this.tokenAhead = this.tokenAhead > elapsed ? this.tokenAhead - elapsed : 0;
  }

  /** @internal Called once per lease, by Lease.release. */
  settle(reservedTokens: number, actualTokens: number | undefined): void {
    this.active--;
    if (this.tokenInterval > 0 && actualTokens !== undefined && actualTokens >= 0) {
      // A refund may take tokenAhead below 0; readers treat that as 0 (a full bucket) and advance clamps it.
      this.tokenAhead += (actualTokens - reservedTokens) * this.tokenInterval;
    }
  }
}

class Lease implements TargetLease {
  private limiter: TargetLimiter | undefined;
  private readonly tokens: number;

  constructor(limiter: TargetLimiter, tokens: number) {
    this.limiter = limiter;
    this.tokens = tokens;
  }

  release(actualTokens?: number): void {
    const limiter = this.limiter;
    if (limiter === undefined) return;
    // Dropping the reference makes the second call a no-op (and lets a held lease not pin the limiter).
    this.limiter = undefined;
    limiter.settle(this.tokens, actualTokens);
  }
}
