import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gcraCheck, gcraAdjust } from './gcra.js';
import { MemoryLimiter } from './memory-limiter.js';
import { windowMs } from './limiter.js';

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

test('the GCRA guarantee: any interval d admits at most L + L·d/60 s units', async () => {
  for (const seed of [1, 2, 3]) {
    const next = random(seed);
    let now = Date.now();
    const limit = 500;
    const limiter = new MemoryLimiter({ now: () => now });
    const admitted: Array<{ at: number; cost: number }> = [];
    for (let i = 0; i < 3_000; i++) {
      // Bursts and gaps: mostly close together, sometimes seconds apart.
      now += next() < 0.05 ? next() * 20_000 : next() * 50;
      const cost = 1 + Math.floor(next() * 40);
      const decision = await limiter.acquire([{ key: 'k', tpm: limit }], cost);
      if (decision.admitted) admitted.push({ at: now, cost });
    }
    assert.ok(admitted.length > 100);
    for (let i = 0; i < admitted.length; i++) {
      let sum = 0;
      for (let j = i; j < admitted.length; j++) {
        sum += (admitted[j] as { cost: number }).cost;
        const d = (admitted[j] as { at: number }).at - (admitted[i] as { at: number }).at;
        assert.ok(sum <= limit + (limit * d) / windowMs + 1e-6, `seed ${seed}: ${sum} units in ${d} ms`);
      }
    }
  }
});

test('retryAfterMs is exact: admitted at now + retryAfter, not a millisecond before', () => {
  const now = 1_000_000;
  const full = gcraCheck(undefined, now, 10, 10);
  assert.ok(full.admitted);
  const refused = gcraCheck(full.tat, now + 1_000, 10, 1);
  assert.equal(refused.admitted, false);
  assert.equal(refused.retryAfterMs, 5_000);
  assert.equal(gcraCheck(full.tat, now + 5_999, 10, 1).admitted, false);
  assert.ok(gcraCheck(full.tat, now + 6_000, 10, 1).admitted);
});

test('float rounding never refuses an exact fit: 1 000 × 100 tokens of tpm 100 000 at one instant', async () => {
  const now = Date.now();
  const limiter = new MemoryLimiter({ now: () => now });
  let admitted = 0;
  for (let i = 0; i < 1_010; i++) {
    if ((await limiter.acquire([{ key: 'k', tpm: 100_000 }], 100)).admitted) admitted++;
  }
  assert.equal(admitted, 1_000);
});

test('a refund never leaves credit below an empty bucket', () => {
  assert.equal(gcraAdjust(undefined, 5_000, 100, -50), 5_000);
  assert.equal(gcraAdjust(4_000, 5_000, 100, -50), 5_000);
  assert.equal(gcraAdjust(50_000, 5_000, 100, -50), 20_000);
});
