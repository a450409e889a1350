/**
 * Time-to-first-token per target, for the `latency` strategy, outlier ejection and hedging thresholds.
 *
 * - EWMA (exponentially weighted moving average): new = old + alpha · (sample − old). One multiply per
 *   sample and it follows a target that slows down within a few samples (alpha 0.3: a step change is 83%
 *   absorbed after 5 samples), which a plain mean over a long window would not.
 * - p95 over the last 128 samples: hedging needs a tail, which an average hides. A ring of 128 doubles is
 *   1 KiB per target; the sorted copy is made on demand into a buffer allocated once, and cached until the
 *   next sample, so a hot path that reads p95 on every request sorts at most once per sample.
 *
 * Per replica, in memory (the issue allows it): each replica measures the latency it experiences itself,
 * which is what its routing decisions should be based on.
 *
 * Hand-written: a dozen lines; streaming-quantile packages (t-digest, HDR histograms) are built for
 * millions of samples, not the last hundred of one target.
 */

const RING_SIZE = 128;
/** Below this many samples an EWMA is mostly its first sample: too noisy to eject a target on. */
export const MIN_OUTLIER_SAMPLES = 5;

export class LatencyTracker {
  private readonly alpha: number;
  private ewma: number | undefined = undefined;
  private count = 0;
  private readonly ring = new Float64Array(RING_SIZE);
  private readonly sorted = new Float64Array(RING_SIZE);
  /** p95 of the ring as of the last observe; undefined = stale (or no samples). */
  private p95Cache: number | undefined = undefined;

  constructor(alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
    this.alpha = alpha;
  }

  /** Records one time-to-first-token. Negative or non-finite values (a clock glitch) are ignored. */
  observe(ttftMs: number): void {
    if (!(ttftMs >= 0) || ttftMs === Number.POSITIVE_INFINITY) return;
    // The first sample seeds the average: starting from 0 would make a new target look fast for a while.
    this.ewma = this.ewma === undefined ? ttftMs : this.ewma + this.alpha * (ttftMs - this.ewma);
    this.ring[this.count % RING_SIZE] = ttftMs;
    this.count++;
    this.p95Cache = undefined;
  }

  /** The average, undefined before the first sample. */
  get ewmaMs(): number | undefined {
    return this.ewma;
  }

  /** Samples observed in total (not capped at the ring size). */
  get samples(): number {
    return this.count;
  }

  /** Nearest-rank p95 over the last 128 samples; undefined before the first sample. */
  p95Ms(): number | undefined {
    if (this.count === 0) return undefined;
    if (this.p95Cache !== undefined) return this.p95Cache;
    const n = Math.min(this.count, RING_SIZE);
    const view = this.sorted.subarray(0, n);
    view.set(this.ring.subarray(0, n));
    view.sort(); // typed arrays sort numerically, in place: no comparator, no allocation beyond the view
    this.p95Cache = view[Math.ceil(0.95 * n) - 1] as number;
    return this.p95Cache;
  }
}

/**
 * Outlier ejection (Envoy's "success rate" / latency outlier detection, reduced to what routing needs):
 * entry i is an outlier when its EWMA exceeds `factor` × the median EWMA of the OTHER entries that have
 * one. Comparing with the others' median, not the mean of all, means one very slow target cannot drag the
 * reference up and hide itself.
 *
 * - `samples[i]` (optional, parallel to `ewmas`): entries with fewer than `minSamples` samples are treated
 *   as unknown (neither judged nor used as a reference).
 * - An entry is judged only with at least 2 known peers: with one peer, "the median" is just that peer and
 *   either of the two could be the odd one out.
 * - Never ejects every known entry (only possible when factor ≤ 1): the fastest is then kept.
 *
 * O(k log k) for k known entries: one sort, then each median-of-the-others in O(1) by skipping the entry's
 * own rank in the sorted order.
 */
export function findOutliers(
  ewmas: readonly (number | undefined)[],
  factor: number,
  samples?: readonly number[],
  minSamples: number = MIN_OUTLIER_SAMPLES,
): boolean[] {
  const n = ewmas.length;
  const result = new Array<boolean>(n).fill(false);
  const known: number[] = [];
  for (let i = 0; i < n; i++) {
    const ewma = ewmas[i];
    if (ewma === undefined || Number.isNaN(ewma)) continue;
    if (samples !== undefined && !((samples[i] ?? 0) >= minSamples)) continue;
    known.push(i);
  }
  const k = known.length;
  if (k < 3) return result; // each judged entry needs 2 known peers
  known.sort((a, b) => (ewmas[a] as number) - (ewmas[b] as number));
  const peers = k - 1;
  // Value at position j of the sorted order with rank `skip` removed.
  const at = (j: number, skip: number): number => ewmas[known[j < skip ? j : j + 1] as number] as number;
  let ejected = 0;
  for (let rank = 0; rank < k; rank++) {
    const median =
      peers % 2 === 1 ? at((peers - 1) / 2, rank) : (at(peers / 2 - 1, rank) + at(peers / 2, rank)) / 2;
    const index = known[rank] as number;
    if ((ewmas[index] as number) > factor * median) {
      result[index] = true;
      ejected++;
    }
  }
  if (ejected === k) result[known[0] as number] = false;
  return result;
}
