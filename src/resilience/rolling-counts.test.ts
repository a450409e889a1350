import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RollingCounts } from './rolling-counts.js';

test('counts add up within the window', () => {
  const counts = new RollingCounts(1000);
  counts.advance(0);
  counts.addFirst();
  counts.addFirst(2);
  counts.addSecond();
  counts.advance(950);
  counts.addSecond(4);
  assert.equal(counts.first, 3);
  assert.equal(counts.second, 5);
});

test('old buckets expire one at a time as the window moves', () => {
  const counts = new RollingCounts(1000, 10); // buckets of 100 ms
  for (let t = 0; t < 1000; t += 100) {
    counts.advance(t);
    counts.addFirst();
  }
  assert.equal(counts.first, 10);
  counts.advance(1000); // bucket [0, 100) leaves
  assert.equal(counts.first, 9);
  counts.advance(1450); // buckets up to [400, 500) leave
  assert.equal(counts.first, 5);
  counts.advance(1850); // the window is [900, 1850]: only the last bucket is left
  assert.equal(counts.first, 1);
  counts.advance(2000);
  assert.equal(counts.first, 0);
});

test('a long idle gap clears everything and counting goes on', () => {
  const counts = new RollingCounts(1000);
  counts.advance(10);
  counts.addFirst(7);
  counts.addSecond(3);
  counts.advance(1_000_000);
  assert.equal(counts.first, 0);
  assert.equal(counts.second, 0);
  counts.addSecond();
  assert.equal(counts.second, 1);
  counts.advance(1_000_999);
  assert.equal(counts.second, 1);
});

test('a clock stepping back keeps counting into the newest bucket', () => {
  const counts = new RollingCounts(1000);
  counts.advance(5000);
  counts.addFirst();
  counts.advance(3000);
  counts.addFirst();
  assert.equal(counts.first, 2);
  counts.advance(5950);
  assert.equal(counts.first, 2);
  counts.advance(6000); // the bucket of 5000 leaves, and both counts were in it
  assert.equal(counts.first, 0);
});

test('works with a real epoch clock and a window that does not divide evenly', () => {
  const counts = new RollingCounts(10_000 / 3);
  const start = 1_750_000_000_000;
  counts.advance(start);
  counts.addFirst();
  counts.advance(start + 2500);
  assert.equal(counts.first, 1);
  counts.advance(start + 3_400);
  assert.equal(counts.first, 0);
});

test('reset forgets all counts', () => {
  const counts = new RollingCounts(1000);
  counts.advance(0);
  counts.addFirst(3);
  counts.addSecond(2);
  counts.reset();
  assert.equal(counts.first, 0);
  assert.equal(counts.second, 0);
  counts.advance(500);
  counts.addFirst();
  assert.equal(counts.first, 1);
});

test('rejects nonsensical sizes', () => {
  assert.throws(() => new RollingCounts(0), RangeError);
  assert.throws(() => new RollingCounts(1000, 0), RangeError);
});
