/**
 * Exponential backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015):
 * the delay is uniform in [0, min(cap, base · 2^(retry-1))). Spreading retries over the whole interval,
 * instead of around its end, is what stops many clients that failed together from retrying together; the
 * post measured it as the variant with the least total work and the fewest collisions.
 *
 * Hand-written: it is one line, and the packages that offer it wrap it in their own retry loop, which the
 * routing stage must own (budgets, deadlines, fallbacks decide whether a retry happens at all).
 */

/**
 * Milliseconds to wait before retry number `retry` (1 = the first retry).
 * A `retry` below 1 is treated as 1; a huge one saturates at `maxMs` (2^n overflows to Infinity, and
 * min() takes the cap), so the caller need not clamp.
 */
export function fullJitterDelay(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  // baseMs 0 means "retry at once"; it also avoids 0 · Infinity = NaN for a huge retry number.
  if (!(baseMs > 0) || !(maxMs > 0)) return 0;
  const exponent = retry > 1 ? retry - 1 : 0;
  return random() * Math.min(maxMs, baseMs * 2 ** exponent);
}
