/**
 * Two counters over a sliding time window, kept as a ring of time buckets (the shape of Hystrix's and
 * resilience4j's time-based sliding windows). Shared by the retry budget (requests, retries) and the circuit
 * breaker (successes, failures).
 *
 * Why buckets and not a log of timestamps: memory and work stay O(buckets) whatever the traffic, and every
 * call is O(1) amortised (advancing clears at most `buckets` slots, however long the idle gap). The price
 * is granularity: old traffic leaves one bucket at a time, so the window covers between
 * (buckets-1)/buckets and all of `windowMs`. With 10 buckets that is a 10% blur, fine for budgets and
 * breakers, which are estimates of health rather than contracts.
 *
 * Hand-written: the libraries with such windows (opossum, cockatiel) bundle them inside their own breaker
 * and retry policy objects, with timers; this one has no timers (time is read from the caller's clock at
 * each call, so tests inject it) and allocates nothing after construction.
 */
export class RollingCounts {
  private readonly firstByBucket: Float64Array;
  private readonly secondByBucket: Float64Array;
  private readonly bucketMs: number;
  private readonly buckets: number;
  /** Absolute bucket number (floor(now / bucketMs)) of the newest bucket. All buckets start empty, so
   *  starting at 0 is harmless: the first advance from a real clock clears (empty) slots and moves on. */
  private epoch = 0;
  private firstSum = 0;
  private secondSum = 0;

  constructor(windowMs: number, buckets = 10) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    if (!Number.isInteger(buckets) || buckets < 1)
      throw new RangeError(`buckets must be >= 1, got ${buckets}`);
    this.buckets = buckets;
    this.bucketMs = windowMs / buckets;
    this.firstByBucket = new Float64Array(buckets);
    this.secondByBucket = new Float64Array(buckets);
  }

  /** Moves the window to `now`, dropping the buckets that fell out of it. Call it before every add or read
   *  (adds land in the newest bucket as of the last advance). */
  advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    // A clock that steps back (NTP) keeps counting into the newest bucket rather than corrupting the ring.
    if (!(epoch > this.epoch)) return;
    const steps = Math.min(epoch - this.epoch, this.buckets);
    for (let i = 1; i <= steps; i++) {
      // Buckets are addressed by absolute number modulo the ring size, so slot reuse needs no head pointer.
      const slot = (((epoch - steps + i) % this.buckets) + this.buckets) % this.buckets;
      this.firstSum -= this.firstByBucket[slot] as number;
      this.secondSum -= this.secondByBucket[slot] as number;
      this.firstByBucket[slot] = 0;
      this.secondByBucket[slot] = 0;
    }
    this.epoch = epoch;
  }

  addFirst(count = 1): void {
    const slot = this.currentSlot();
    (this.firstByBucket[slot] as number) += count;
    this.firstSum += count;
  }

  addSecond(count = 1): void {
    const slot = this.currentSlot();
    (this.secondByBucket[slot] as number) += count;
    this.secondSum += count;
  }

  /** Sum of the first counter over the window, as of the last `advance`. */
  get first(): number {
    return this.firstSum;
  }

  /** Sum of the second counter over the window, as of the last `advance`. */
  get second(): number {
    return this.secondSum;
  }

  /** Forgets all counts (a breaker closing starts a fresh window). */
  reset(): void {
    this.firstByBucket.fill(0);
    this.secondByBucket.fill(0);
    this.firstSum = 0;
    this.secondSum = 0;
  }

  private currentSlot(): number {
    return ((this.epoch % this.buckets) + this.buckets) % this.buckets;
  }
}
