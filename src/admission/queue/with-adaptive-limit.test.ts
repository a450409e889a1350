import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveLimit } from '../concurrency/adaptive-limit.js';
import { AdmissionQueue, type Admission } from './admission-queue.js';

// How the two are meant to be put together: the queue counts the slots, the adaptive limit sizes them, and
// a grown limit pumps the queue. (AdaptiveLimit.tryAcquire is for callers without a queue.)
test('a queue sized by an adaptive limit admits more as the limit grows and fewer after overload', async () => {
  const clock = { t: 0 };
  const limit = new AdaptiveLimit({ initial: 2, min: 1, max: 8, probeIntervalMs: 1e9 }, () => clock.t);
  const queue = new AdmissionQueue(
    () => limit.limit,
    // No reserve for interactive: this is about the limit sizing the queue.
    { maxQueued: 100, maxWaitMs: { interactive: 1e9, batch: 1e9 }, interactiveReserve: 0 },
    () => clock.t,
  );
  limit.onChange = () => queue.pump();
  const admissions: Admission[] = [];
  for (let i = 0; i < 60; i++) void queue.acquire('batch').then((a) => admissions.push(a));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(queue.inFlight, 2);

  // Each admitted request answers in 100 ms, at full demand; the limit grows and the queue follows.
  let served = 0;
  while (served < 40) {
    const next = admissions.shift();
    assert.ok(next?.admitted);
    clock.t += 100;
    next.release();
    limit.onSample(100, limit.limit);
    served++;
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(queue.inFlight <= limit.limit);
  }
  assert.equal(limit.limit, 8);
  assert.equal(queue.inFlight, 8);

  // The upstream says it is full: the limit falls, no new admissions until in-flight work drops below it.
  for (let i = 0; i < 4; i++) {
    clock.t += 200;
    limit.onOverload();
  }
  assert.equal(limit.limit, 5);
  for (let i = 0; i < 3; i++) {
    const next = admissions.shift();
    assert.ok(next?.admitted);
    next.release();
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(queue.inFlight, 5);
  assert.equal(admissions.length, 5, 'nobody new was admitted while over the limit');
});
