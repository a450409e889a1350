import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullJitterDelay } from './backoff.js';

test('the ceiling doubles per retry and stops at the cap', () => {
  const top = () => 0.999_999;
  const ceilings = [1, 2, 3, 4, 5, 6].map((retry) => Math.round(fullJitterDelay(retry, 50, 1000, top)));
  assert.deepEqual(ceilings, [50, 100, 200, 400, 800, 1000]);
});

test('the delay is random() times the ceiling (full jitter, from 0)', () => {
  assert.equal(
    fullJitterDelay(3, 50, 2000, () => 0),
    0,
  );
  assert.equal(
    fullJitterDelay(3, 50, 2000, () => 0.5),
    100,
  );
  assert.equal(
    fullJitterDelay(3, 50, 2000, () => 0.25),
    50,
  );
});

test('full jitter spreads delays uniformly over [0, ceiling)', () => {
  let seed = 0;
  const evenlySpaced = () => (seed++ % 1000) / 1000;
  let below = 0;
  let max = 0;
  for (let i = 0; i < 1000; i++) {
    const delay = fullJitterDelay(2, 100, 10_000, evenlySpaced);
    if (delay < 100) below++;
    max = Math.max(max, delay);
  }
  assert.equal(below, 500); // half of them below the midpoint of [0, 200)
  assert.ok(max < 200);
});

test('a huge retry number saturates at the cap instead of overflowing', () => {
  assert.equal(
    fullJitterDelay(5000, 50, 2000, () => 0.5),
    1000,
  );
});

test('retry 0 or below behaves as the first retry; zero base or cap means no wait', () => {
  assert.equal(
    fullJitterDelay(0, 50, 2000, () => 0.5),
    25,
  );
  assert.equal(
    fullJitterDelay(-3, 50, 2000, () => 0.5),
    25,
  );
  assert.equal(
    fullJitterDelay(5000, 0, 2000, () => 0.5),
    0,
  );
  assert.equal(
    fullJitterDelay(2, 50, 0, () => 0.5),
    0,
  );
});
