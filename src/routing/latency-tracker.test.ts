import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../simulator/random.js';
import { LatencyTracker, findOutliers } from './latency-tracker.js';

test('no samples: no estimates', () => {
  const tracker = new LatencyTracker(0.3);
  assert.equal(tracker.ewmaMs, undefined);
  assert.equal(tracker.p95Ms(), undefined);
  assert.equal(tracker.samples, 0);
});

test('the first sample seeds the EWMA, later ones move it by alpha', () => {
  const tracker = new LatencyTracker(0.5);
  tracker.observe(100);
  assert.equal(tracker.ewmaMs, 100);
  tracker.observe(200);
  assert.equal(tracker.ewmaMs, 150);
  tracker.observe(50);
  assert.equal(tracker.ewmaMs, 100);
  assert.equal(tracker.samples, 3);
});

test('the EWMA follows a step change within a few samples', () => {
  const tracker = new LatencyTracker(0.3);
  for (let i = 0; i < 50; i++) tracker.observe(100);
  for (let i = 0; i < 5; i++) tracker.observe(1000);
  const absorbed = ((tracker.ewmaMs as number) - 100) / 900;
  assert.ok(absorbed > 0.8 && absorbed < 0.85, `absorbed ${absorbed}`); // 1 - 0.7^5 = 0.832
});

test('bad samples are ignored', () => {
  const tracker = new LatencyTracker(0.3);
  tracker.observe(-1);
  tracker.observe(Number.NaN);
  tracker.observe(Number.POSITIVE_INFINITY);
  assert.equal(tracker.samples, 0);
  tracker.observe(0);
  assert.equal(tracker.ewmaMs, 0);
});

test('alpha must be in (0, 1]', () => {
  assert.throws(() => new LatencyTracker(0), RangeError);
  assert.throws(() => new LatencyTracker(1.5), RangeError);
  assert.doesNotThrow(() => new LatencyTracker(1));
});

test('p95 is the nearest-rank 95th percentile', () => {
  const tracker = new LatencyTracker(0.3);
  for (let ms = 100; ms >= 1; ms--) tracker.observe(ms); // out of order on purpose
  assert.equal(tracker.p95Ms(), 95);
  const one = new LatencyTracker(0.3);
  one.observe(42);
  assert.equal(one.p95Ms(), 42);
});

test('p95 covers only the last 128 samples', () => {
  const tracker = new LatencyTracker(0.3);
  for (let i = 0; i < 1000; i++) tracker.observe(10_000); // an old slow period
  for (let i = 0; i < 128; i++) tracker.observe(i + 1);
  assert.equal(tracker.p95Ms(), 122); // ceil(0.95 · 128) = 122nd of 1..128
  assert.equal(tracker.samples, 1128);
});

test('p95 sees a slow tail that the EWMA smooths away', () => {
  const random = new Random(7);
  const tracker = new LatencyTracker(0.3);
  for (let i = 0; i < 500; i++) tracker.observe(random.next() < 0.1 ? 2000 + random.next() * 1000 : 100);
  assert.ok((tracker.p95Ms() as number) >= 2000);
});

test('the cached p95 is refreshed by the next sample', () => {
  const tracker = new LatencyTracker(0.3);
  for (let i = 0; i < 19; i++) tracker.observe(10);
  assert.equal(tracker.p95Ms(), 10);
  assert.equal(tracker.p95Ms(), 10);
  tracker.observe(500); // 20 samples: the 19th of 20 is still 10, add one more slow one
  tracker.observe(500);
  assert.equal(tracker.p95Ms(), 500);
});

test('findOutliers: a target far above the median of its peers is ejected', () => {
  assert.deepEqual(findOutliers([100, 110, 400], 3), [false, false, true]);
  assert.deepEqual(findOutliers([100, 110, 300], 3), [false, false, false]); // 300 is not > 3 × 105
  assert.deepEqual(findOutliers([100, 500, 110, 120, 90], 3), [false, true, false, false, false]);
});

test('findOutliers: the median of the others is not dragged up by the outlier itself', () => {
  // Mean of all would be 2,575; median of the peers of 10,000 is 100.
  assert.deepEqual(findOutliers([100, 100, 100, 10_000], 3), [false, false, false, true]);
  // Two slow ones: each is judged against a median that includes the other.
  assert.deepEqual(findOutliers([100, 100, 100, 1000, 1000], 3), [false, false, false, true, true]);
});

test('findOutliers: needs at least two known peers', () => {
  assert.deepEqual(findOutliers([], 3), []);
  assert.deepEqual(findOutliers([100], 3), [false]);
  assert.deepEqual(findOutliers([100, 10_000], 3), [false, false]);
  assert.deepEqual(findOutliers([100, undefined, 10_000], 3), [false, false, false]);
  assert.deepEqual(findOutliers([100, undefined, 120, 10_000], 3), [false, false, false, true]);
});

test('findOutliers: trackers with too few samples are neither judged nor peers', () => {
  const ewmas = [100, 110, 10_000, 90];
  assert.deepEqual(findOutliers(ewmas, 3, [50, 50, 4, 50]), [false, false, false, false]);
  assert.deepEqual(findOutliers(ewmas, 3, [50, 50, 5, 50]), [false, false, true, false]);
  assert.deepEqual(findOutliers(ewmas, 3, [50, 2, 5, 50]), [false, false, true, false]);
  assert.deepEqual(findOutliers(ewmas, 3, [50, 2, 5, 3]), [false, false, false, false]);
  assert.deepEqual(findOutliers(ewmas, 3, [2, 2, 2, 2], 1), [false, false, true, false]);
});

test('findOutliers: never ejects every known target', () => {
  const result = findOutliers([100, 200, 300, 400], 0.1);
  assert.deepEqual(result, [false, true, true, true]);
});
