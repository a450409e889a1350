/**
 * Balancing strategies: order the targets of a model for one request. The caller walks the returned order
 * for the first attempt, retries and hedges, skipping targets that are unhealthy (breaker open, cooling
 * down, at a limit), so every strategy returns every candidate, best first.
 *
 * All four start from the same weighted random order (sampling without replacement: each position is drawn
 * in proportion to the weights of the candidates not yet placed, so the first pick follows the weights
 * exactly) and then, except `weighted`, stable-sort it by their own key. Ties therefore fall back to the
 * weights instead of to config order, which would send every tied retry to the same target.
 *
 * - weighted:   the weighted order as is.
 * - least-busy: power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load
 *               Balancing", 2001; what Envoy and Finagle do): the first two of the weighted order are two
 *               distinct candidates drawn by weight; the one with fewer requests in flight goes first (a tie
 *               keeps the first drawn). Two random choices avoid the herd that "always the least busy"
 *               causes when in-flight counts are stale, and still cut the maximum load exponentially. The
 *               rest follow by in-flight ascending.
 * - latency:    lowest time-to-first-token EWMA first. Candidates without samples go first (in weighted
 *               order) so they get measured. And with probability LATENCY_EXPLORE_PROBABILITY a random
 *               other candidate is put first: without it a target that was slow once would never be tried
 *               again, and its EWMA would never learn that it recovered (epsilon-greedy exploration).
 * - cost:       cheapest `cost` first, unknown cost last, ties in weighted order.
 *
 * Cost: O(n²) for n candidates (the weighted draws and the insertion sort), no allocation but the result
 * array, no closures per call. A model has a handful of targets; for n ≤ 16 this beats anything with a
 * heap or a sort callback.
 *
 * Hand-written: balancing libraries pick one endpoint; routing needs the whole preference order, over
 * our own candidate shape, in a few hundred nanoseconds.
 */

export type Strategy = 'weighted' | 'least-busy' | 'latency' | 'cost';

export interface Candidate {
  /** Relative share of first picks; positive. */
  weight: number;
  /** Requests in flight to this candidate now (least-busy). */
  inFlight: number;
  /** Time-to-first-token EWMA; undefined = no samples yet (latency). */
  latencyMs: number | undefined;
  /** A comparable price, e.g. USD per million tokens; undefined = unknown (cost). */
  cost: number | undefined;
}

/** Share of `latency` orderings that put a random non-best candidate first. */
export const LATENCY_EXPLORE_PROBABILITY = 0.05;

export function orderCandidates<T extends Candidate>(
  strategy: Strategy,
  candidates: readonly T[],
  random: () => number = Math.random,
): T[] {
  const n = candidates.length;
  if (n <= 1) return n === 0 ? [] : [candidates[0] as T];
  const order = candidates.slice();
  weightedShuffle(order, random);
  switch (strategy) {
    case 'weighted':
      break;
    case 'least-busy':
      if ((order[1] as T).inFlight < (order[0] as T).inFlight) swap(order, 0, 1);
      insertionSort(order, 1, byInFlight);
      break;
    case 'latency':
      insertionSort(order, 0, byLatency);
      // Explore only when the front is a measured candidate: unmeasured ones are already explored first.
      if ((order[0] as T).latencyMs !== undefined && random() < LATENCY_EXPLORE_PROBABILITY) {
        moveToFront(order, 1 + Math.floor(random() * (n - 1)));
      }
      break;
    case 'cost':
      insertionSort(order, 0, byCost);
      break;
  }
  return order;
}

/** In place: position i gets a draw among order[i..] proportional to weight (sampling without replacement). */
function weightedShuffle(order: Candidate[], random: () => number): void {
  let remaining = 0;
  for (const c of order) remaining += c.weight;
  const last = order.length - 1;
  for (let i = 0; i < last; i++) {
    let point = random() * remaining;
    let chosen = last; // float rounding can leave `point` a hair above the sum: the last one takes it
    for (let j = i; j < last; j++) {
      point -= (order[j] as Candidate).weight;
      if (point < 0) {
        chosen = j;
        break;
      }
    }
    remaining -= (order[chosen] as Candidate).weight;
    swap(order, i, chosen);
  }
}

/** Stable, in place, over order[from..]; fastest for the few elements a model has. */
function insertionSort<T>(order: T[], from: number, compare: (a: T, b: T) => number): void {
  for (let i = from + 1; i < order.length; i++) {
    const item = order[i] as T;
    let j = i - 1;
    while (j >= from && compare(order[j] as T, item) > 0) {
      order[j + 1] = order[j] as T;
      j--;
    }
    order[j + 1] = item;
  }
}

function swap<T>(order: T[], a: number, b: number): void {
  const item = order[a] as T;
  order[a] = order[b] as T;
  order[b] = item;
}

function moveToFront<T>(order: T[], index: number): void {
  const item = order[index] as T;
  for (let j = index; j > 0; j--) order[j] = order[j - 1] as T;
  order[0] = item;
}

function byInFlight(a: Candidate, b: Candidate): number {
  return a.inFlight - b.inFlight;
}

/** Unmeasured first (explore), then ascending EWMA. */
function byLatency(a: Candidate, b: Candidate): number {
  if (a.latencyMs === undefined) return b.latencyMs === undefined ? 0 : -1;
  if (b.latencyMs === undefined) return 1;
  return a.latencyMs - b.latencyMs;
}

/** Ascending cost, unknown last. */
function byCost(a: Candidate, b: Candidate): number {
  if (a.cost === undefined) return b.cost === undefined ? 0 : 1;
  if (b.cost === undefined) return -1;
  return a.cost - b.cost;
}
