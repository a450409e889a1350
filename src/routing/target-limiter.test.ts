import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TargetLimiter, type TargetLease } from './target-limiter.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** Admits as many as the limiter allows right now. */
function drain(limiter: TargetLimiter, tokens = 0): TargetLease[] {
  const leases: TargetLease[] = [];
  for (let lease = limiter.tryAcquire(tokens); lease !== undefined; lease = limiter.tryAcquire(tokens)) {
    leases.push(lease);
    if (leases.length > 1_000_000) assert.fail('no limit');
  }
  return leases;
}

test('no limits: one shared no-op lease, no clock read, nothing counted', () => {
  const limiter = new TargetLimiter({}, () => assert.fail('the clock must not be read'));
  const a = limiter.tryAcquire(1000);
  const b = limiter.tryAcquire(1000);
  assert.ok(a !== undefined);
  assert.equal(a, b);
  assert.equal(limiter.inFlight, 0);
  assert.equal(limiter.retryAfterMs(), 0);
  a.release(5);
  a.release();
  assert.equal(limiter.inFlight, 0);
});

test('rpm: a full burst, then one request per 60/rpm seconds', () => {
  const c = clock();
  const limiter = new TargetLimiter({ rpm: 60 }, c.now);
  assert.equal(drain(limiter).length, 60);
  assert.equal(limiter.retryAfterMs(), 1000);
  c.t += 999;
  assert.equal(limiter.tryAcquire(0), undefined);
  assert.equal(limiter.retryAfterMs(), 1);
  c.t += 1;
  assert.equal(limiter.retryAfterMs(), 0);
  assert.ok(limiter.tryAcquire(0) !== undefined);
  assert.equal(limiter.tryAcquire(0), undefined);
  c.t += 10_000;
  assert.equal(drain(limiter).length, 10);
});

test('rpm: no double burst at the window edge', () => {
  // A fixed-window limiter admits 60 at 0:59.9 and 60 more at 1:00.1. GCRA has no edge: what was spent
  // at 0:59.9 is only given back at 60/rpm per second.
  const c = clock(0);
  const limiter = new TargetLimiter({ rpm: 60 }, c.now);
  c.t = 59_900;
  assert.equal(drain(limiter).length, 60);
  c.t = 60_100;
  assert.equal(drain(limiter).length, 0);
  c.t = 61_000;
  assert.equal(drain(limiter).length, 1);
  // And over a long run, the rate is the limit: a minute of greedy traffic after the burst gets 60.
  let admitted = 0;
  for (c.t = 61_000; c.t < 121_000; c.t += 10) admitted += drain(limiter).length;
  assert.ok(admitted >= 59 && admitted <= 60, `${admitted}`);
});

test('rpm: any short span admits at most the limit', () => {
  const c = clock(0);
  const limiter = new TargetLimiter({ rpm: 600 }, c.now);
  const times: number[] = [];
  for (c.t = 0; c.t < 300_000; c.t += 37) for (const _ of drain(limiter)) times.push(c.t);
  // Any 1 s span: at most the burst (600) and never twice it.
  for (let i = 0; i < times.length; i += 53) {
    const from = times[i] as number;
    const inSpan = times.filter((t) => t >= from && t < from + 1000).length;
    assert.ok(inSpan <= 600 + 10, `${inSpan} in 1 s`);
  }
  // Long-run rate: 600 per minute, plus the initial burst.
  assert.ok(times.length <= 600 * 5 + 600 && times.length >= 600 * 5, `${times.length}`);
});

test('tpm: the estimate is reserved at acquire', () => {
  const c = clock();
  const limiter = new TargetLimiter({ tpm: 10_000 }, c.now);
  assert.ok(limiter.tryAcquire(6000) !== undefined);
  assert.equal(limiter.tryAcquire(5000), undefined);
  assert.ok(limiter.tryAcquire(4000) !== undefined);
  assert.equal(limiter.tryAcquire(1), undefined);
  // 1 token refills every 6 ms.
  assert.equal(limiter.retryAfterMs(600), 3600);
  c.t += 3600;
  assert.ok(limiter.tryAcquire(600) !== undefined);
});

test('tpm: release settles to the actual tokens (refund)', () => {
  const c = clock();
  const limiter = new TargetLimiter({ tpm: 10_000 }, c.now);
  const lease = limiter.tryAcquire(8000) as TargetLease;
  assert.equal(limiter.tryAcquire(5000), undefined);
  lease.release(1000); // 7000 tokens given back
  assert.ok(limiter.tryAcquire(5000) !== undefined);
  assert.ok(limiter.tryAcquire(4000) !== undefined);
  assert.equal(limiter.tryAcquire(1), undefined);
});

test('tpm: release settles to the actual tokens (charge)', () => {
  const c = clock();
  const limiter = new TargetLimiter({ tpm: 10_000 }, c.now);
  const lease = limiter.tryAcquire(1000) as TargetLease;
  lease.release(10_000); // the estimate was 9000 short: the whole limit is spent now
  assert.equal(limiter.tryAcquire(1), undefined);
  c.t += 6;
  assert.ok(limiter.tryAcquire(1) !== undefined);
});

test('tpm: an overcharge delays later requests instead of being forgotten', () => {
  const c = clock();
  const limiter = new TargetLimiter({ tpm: 10_000 }, c.now);
  (limiter.tryAcquire(100) as TargetLease).release(25_000); // 2.5× the limit
  // The debt beyond the limit (15,000 tokens = 90 s) must be paid before even a tiny request.
  assert.equal(limiter.retryAfterMs(0), 90_000);
  c.t += 89_999;
  assert.equal(limiter.tryAcquire(0), undefined);
  c.t += 1;
  assert.ok(limiter.tryAcquire(0) !== undefined);
});

test('tpm: a refund never leaves more than a full bucket', () => {
  const c = clock();
  const limiter = new TargetLimiter({ tpm: 10_000 }, c.now);
  const lease = limiter.tryAcquire(10_000) as TargetLease;
  c.t += 120_000; // long after, the bucket is full again
  lease.release(0); // refunding 10,000 tokens must not make room for 20,000
  assert.ok(limiter.tryAcquire(10_000) !== undefined);
  assert.equal(limiter.tryAcquire(1), undefined);
});

test('tpm: a request larger than the whole limit passes only on a full bucket', () => {
  const c = clock();
  const limiter = new TargetLimiter({ tpm: 10_000 }, c.now);
  const small = limiter.tryAcquire(1) as TargetLease;
  assert.equal(limiter.tryAcquire(50_000), undefined);
  small.release(0);
  assert.equal(limiter.retryAfterMs(50_000), 0);
  assert.ok(limiter.tryAcquire(50_000) !== undefined); // otherwise it could never be sent at all
  assert.equal(limiter.tryAcquire(1), undefined);
});

test('concurrency: admits up to the limit, a release frees a slot', () => {
  const c = clock();
  const limiter = new TargetLimiter({ concurrency: 2 }, c.now);
  const a = limiter.tryAcquire(0) as TargetLease;
  const b = limiter.tryAcquire(0) as TargetLease;
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(limiter.inFlight, 2);
  assert.equal(limiter.tryAcquire(0), undefined);
  assert.ok(limiter.retryAfterMs() > 0); // "not now", although no clock will free it
  a.release();
  assert.equal(limiter.inFlight, 1);
  assert.equal(limiter.retryAfterMs(), 0);
  assert.ok(limiter.tryAcquire(0) !== undefined);
  assert.equal(limiter.tryAcquire(0), undefined);
});

test('release is idempotent', () => {
  const c = clock();
  const limiter = new TargetLimiter({ concurrency: 2, tpm: 10_000 }, c.now);
  const a = limiter.tryAcquire(5000) as TargetLease;
  limiter.tryAcquire(0);
  a.release(0);
  a.release(0);
  a.release(9000);
  assert.equal(limiter.inFlight, 1); // not 0 or -1
  // Only the first settle counted: 5000 refunded, the later 9000 "actual" ignored.
  assert.ok(limiter.tryAcquire(10_000) !== undefined);
});

test('a denial charges nothing: all limits are checked before any is spent', () => {
  const c = clock();
  const limiter = new TargetLimiter({ rpm: 2, tpm: 1000, concurrency: 5 }, c.now);
  assert.ok(limiter.tryAcquire(600) !== undefined);
  for (let i = 0; i < 5; i++) assert.equal(limiter.tryAcquire(600), undefined); // tpm says no
  assert.equal(limiter.inFlight, 1);
  // rpm still has its second request: the tpm denials did not spend it...
  assert.ok(limiter.tryAcquire(400) !== undefined);
  // ...and now rpm is spent (tpm too)
  assert.equal(limiter.tryAcquire(0), undefined);
  assert.equal(limiter.inFlight, 2);
});

test('inFlight is counted for any limited target (least-busy reads it)', () => {
  const limiter = new TargetLimiter({ rpm: 1000 }, () => 0);
  const leases = [limiter.tryAcquire(0), limiter.tryAcquire(0), limiter.tryAcquire(0)];
  assert.equal(limiter.inFlight, 3);
  for (const lease of leases) lease?.release();
  assert.equal(limiter.inFlight, 0);
});

test('limits that do not divide a minute evenly still admit their full burst on an epoch clock', () => {
  for (const rpm of [7, 13, 333, 999]) {
    const c = clock(1_761_234_567_891);
    const limiter = new TargetLimiter({ rpm }, c.now);
    assert.equal(drain(limiter).length, rpm, `rpm ${rpm}`);
    c.t += 60_000;
    assert.equal(drain(limiter).length, rpm, `rpm ${rpm} a minute later`);
  }
  const c = clock(1_761_234_567_891);
  const limiter = new TargetLimiter({ tpm: 7777 }, c.now);
  assert.equal(drain(limiter, 1).length, 7777);
  c.t += 60_000;
  assert.equal(drain(limiter, 3).length, 2592); // floor(7777 / 3)
});

test('a clock stepping back neither refills nor breaks the limiter', () => {
  const c = clock();
  const limiter = new TargetLimiter({ rpm: 60 }, c.now);
  assert.equal(drain(limiter).length, 60);
  c.t -= 30_000;
  assert.equal(drain(limiter).length, 0);
  c.t += 31_000; // 1 s after the burst, measured from the latest time seen
  assert.equal(drain(limiter).length, 1);
});
