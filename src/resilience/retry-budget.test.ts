import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBudget } from './retry-budget.js';

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('with no traffic only the floor is available', () => {
  const c = clock();
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 }, c.now);
  let granted = 0;
  while (budget.tryAcquire()) granted++;
  assert.equal(granted, 10); // 1/s over 10 s
  assert.equal(budget.retries, 10);
  assert.equal(budget.requests, 0);
});

test('each request earns `ratio` of a retry; a retry must fit whole', () => {
  const c = clock();
  const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000 }, c.now);
  for (let i = 0; i < 4; i++) budget.recordRequest();
  assert.equal(budget.tryAcquire(), false); // 0.8 of a retry is not one
  budget.recordRequest();
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), false);
  assert.equal(budget.requests, 5);
  assert.equal(budget.retries, 1);
});

test('a zero budget never grants a retry', () => {
  const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, windowMs: 1000 }, () => 0);
  for (let i = 0; i < 100; i++) budget.recordRequest();
  assert.equal(budget.tryAcquire(), false);
});

test('total outage: the upstream sees at most ~1.2x the client traffic, not max_attempts x', () => {
  // 50 requests per second for 60 s, every attempt fails, each request would make up to 3 attempts.
  const c = clock(1_700_000_000_000);
  const options = { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 };
  const budget = new RetryBudget(options, c.now);
  const maxAttempts = 3;
  let clientRequests = 0;
  let upstreamAttempts = 0;
  const retryTimes: number[] = [];
  const requestTimes: number[] = [];
  for (let ms = 0; ms < 60_000; ms += 20) {
    c.t += 20;
    clientRequests++;
    upstreamAttempts++;
    budget.recordRequest();
    requestTimes.push(c.t);
    for (let attempt = 2; attempt <= maxAttempts && budget.tryAcquire(); attempt++) {
      upstreamAttempts++;
      retryTimes.push(c.t);
    }
    // The guarantee holds over the window at every moment, not just on average.
    const floor = (options.minPerSecond * options.windowMs) / 1000;
    assert.ok(budget.retries <= options.ratio * budget.requests + floor);
  }
  const amplification = upstreamAttempts / clientRequests;
  assert.ok(amplification <= 1.2 + 0.03, `amplification ${amplification}`); // the floor adds 1 per 50
  assert.ok(amplification >= 1.15, `the budget should be used, got ${amplification}`);
  // Over any span (not only the bucketed window): the window at a span's last retry reaches back at least
  // 9 s (one bucket of blur), so 9 s of retries are bounded by the requests of the 10 s that window holds.
  for (let start = 0; start < retryTimes.length; start += 7) {
    const from = retryTimes[start] as number;
    const retries = retryTimes.filter((t) => t >= from && t <= from + 9_000).length;
    const requests = requestTimes.filter((t) => t >= from - 1000 && t <= from + 9_000).length;
    assert.ok(retries <= 0.2 * requests + 10, `${retries} retries for ${requests} requests`);
  }
});

test('the budget refills as the window moves', () => {
  const c = clock();
  const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1000 }, c.now);
  for (let i = 0; i < 10; i++) budget.recordRequest();
  let granted = 0;
  while (budget.tryAcquire()) granted++;
  assert.equal(granted, 5);
  c.t = 999;
  assert.equal(budget.tryAcquire(), false);
  c.t = 1000; // the first bucket, holding the requests and the retries, leaves the window
  assert.equal(budget.requests, 0);
  assert.equal(budget.retries, 0);
  for (let i = 0; i < 4; i++) budget.recordRequest();
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), true);
  assert.equal(budget.tryAcquire(), false);
});

test('old traffic expires smoothly, a bucket at a time', () => {
  const c = clock();
  const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1000 }, c.now);
  for (let t = 0; t < 1000; t += 100) {
    c.t = t;
    budget.recordRequest();
  }
  c.t = 1000;
  assert.equal(budget.requests, 9);
  c.t = 1450; // the window now starts at the bucket of 500
  assert.equal(budget.requests, 5);
});
