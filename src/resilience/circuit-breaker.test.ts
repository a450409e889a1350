import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker.js';

const defaults: BreakerOptions = {
  consecutiveFailures: 3,
  errorRate: 0.5,
  minRequests: 10,
  windowMs: 10_000,
  openMs: 5_000,
  halfOpenRequests: 1,
};

function setup(overrides: Partial<BreakerOptions> = {}) {
  const c = { t: 1_000_000 };
  const breaker = new CircuitBreaker({ ...defaults, ...overrides }, () => c.t);
  const transitions: BreakerState[] = [];
  breaker.onStateChange = (state) => transitions.push(state);
  return { c, breaker, transitions };
}

test('starts closed and admits everything', () => {
  const { breaker, transitions } = setup();
  assert.equal(breaker.state, 'closed');
  for (let i = 0; i < 100; i++) assert.equal(breaker.tryAcquire(), true);
  assert.deepEqual(transitions, []);
});

test('opens on consecutive failures; a success in between resets the count', () => {
  const { breaker, transitions } = setup();
  breaker.onFailure();
  breaker.onFailure();
  breaker.onSuccess();
  breaker.onFailure();
  breaker.onFailure();
  assert.equal(breaker.state, 'closed');
  breaker.onFailure();
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.tryAcquire(), false);
  assert.deepEqual(transitions, ['open']);
});

test('opens on the error rate once the window holds minRequests, not before', () => {
  const { breaker } = setup({ consecutiveFailures: 100 });
  // Alternate: never two failures in a row, 50% failure rate.
  for (let i = 0; i < 4; i++) {
    breaker.onSuccess();
    breaker.onFailure();
  }
  breaker.onSuccess();
  assert.equal(breaker.state, 'closed'); // 4 failures out of 9: below the minimum volume
  breaker.onFailure(); // 5 of 10 = 50%
  assert.equal(breaker.state, 'open');
});

test('a failure rate below errorRate keeps it closed', () => {
  const { breaker } = setup({ consecutiveFailures: 100 });
  for (let i = 0; i < 100; i++) {
    breaker.onSuccess();
    breaker.onSuccess();
    if (i % 2 === 0) breaker.onFailure(); // 1 failure per 4 verdicts: 25%
  }
  assert.equal(breaker.state, 'closed');
});

test('the window forgets old failures', () => {
  const { c, breaker } = setup({ consecutiveFailures: 100, minRequests: 4 });
  breaker.onFailure();
  breaker.onSuccess();
  breaker.onFailure(); // 2 of 3
  c.t += 10_000; // all of it leaves the window
  breaker.onSuccess();
  breaker.onSuccess();
  breaker.onSuccess();
  breaker.onFailure(); // 1 of 4 in the window = 25%; had it remembered, 3 of 7
  assert.equal(breaker.state, 'closed');
  breaker.onFailure(); // 2 of 5
  assert.equal(breaker.state, 'closed');
  breaker.onFailure(); // 3 of 6 = 50%
  assert.equal(breaker.state, 'open');
});

test('open turns half-open after openMs, lazily, and admits one trial at a time', () => {
  const { c, breaker, transitions } = setup();
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 4_999;
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.tryAcquire(), false);
  c.t += 1;
  assert.deepEqual(transitions, ['open']); // nothing happens until someone looks: no timers
  assert.equal(breaker.state, 'half-open');
  assert.deepEqual(transitions, ['open', 'half-open']);
  assert.equal(breaker.tryAcquire(), true);
  assert.equal(breaker.tryAcquire(), false); // the trial is in flight
  assert.equal(breaker.state, 'half-open');
});

test('a successful trial closes it, with a fresh window', () => {
  const { c, breaker, transitions } = setup();
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 5_000;
  assert.equal(breaker.tryAcquire(), true);
  breaker.onSuccess();
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(transitions, ['open', 'half-open', 'closed']);
  // The failures that opened it are forgotten: it takes 3 new ones in a row.
  breaker.onFailure();
  breaker.onFailure();
  assert.equal(breaker.state, 'closed');
  breaker.onFailure();
  assert.equal(breaker.state, 'open');
});

test('closing restarts the error-rate window too', () => {
  const { c, breaker } = setup({ consecutiveFailures: 100 });
  for (let i = 0; i < 5; i++) {
    breaker.onSuccess();
    breaker.onFailure();
  }
  assert.equal(breaker.state, 'open'); // 5 of 10
  c.t += 5_000; // still inside the 10 s window of those failures
  assert.equal(breaker.tryAcquire(), true);
  breaker.onSuccess();
  assert.equal(breaker.state, 'closed');
  breaker.onFailure(); // had the window kept its 5 of 10, this would be 6 of 11 and reopen it
  assert.equal(breaker.state, 'closed');
});

test('a failed trial reopens it for another openMs', () => {
  const { c, breaker, transitions } = setup();
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 5_000;
  assert.equal(breaker.tryAcquire(), true);
  c.t += 700; // the trial took 700 ms
  breaker.onFailure();
  assert.equal(breaker.state, 'open');
  c.t += 4_999;
  assert.equal(breaker.tryAcquire(), false); // openMs counts from the reopening, not the first opening
  c.t += 1;
  assert.equal(breaker.tryAcquire(), true);
  assert.deepEqual(transitions, ['open', 'half-open', 'open', 'half-open']);
});

test('half-open admits at most halfOpenRequests concurrent trials', () => {
  const { c, breaker } = setup({ halfOpenRequests: 3 });
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 5_000;
  const admitted = Array.from({ length: 10 }, () => breaker.tryAcquire()).filter(Boolean).length;
  assert.equal(admitted, 3);
  breaker.release(); // one trial's client left: its slot frees
  assert.equal(breaker.tryAcquire(), true);
  assert.equal(breaker.tryAcquire(), false);
  breaker.onSuccess(); // any one success closes it
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.tryAcquire(), true);
});

test('release frees a slot without deciding anything; extra releases do not grant extra trials', () => {
  const { c, breaker, transitions } = setup({ halfOpenRequests: 2 });
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 5_000;
  assert.equal(breaker.tryAcquire(), true);
  breaker.release();
  breaker.release();
  breaker.release();
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.tryAcquire(), true);
  assert.equal(breaker.tryAcquire(), true);
  assert.equal(breaker.tryAcquire(), false);
  assert.deepEqual(transitions, ['open', 'half-open']);
});

test('verdicts that arrive while open are ignored', () => {
  const { c, breaker, transitions } = setup();
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 1_000;
  breaker.onSuccess(); // a request admitted before the opening answered late
  breaker.onFailure();
  breaker.release();
  assert.equal(breaker.state, 'open');
  c.t += 4_000; // still 5 s after the opening, not after the late failure
  assert.equal(breaker.state, 'half-open');
  assert.deepEqual(transitions, ['open', 'half-open']);
});

test('the trial slots start empty at every half-open, whatever happened before', () => {
  const { c, breaker } = setup();
  for (let i = 0; i < 3; i++) breaker.onFailure();
  c.t += 5_000;
  assert.equal(breaker.tryAcquire(), true);
  breaker.onFailure(); // reopen with the trial "in flight" counted
  c.t += 5_000;
  assert.equal(breaker.tryAcquire(), true);
});

test('works without a listener', () => {
  const breaker = new CircuitBreaker({ ...defaults, consecutiveFailures: 1 }, () => 0);
  breaker.onFailure();
  assert.equal(breaker.state, 'open');
});
