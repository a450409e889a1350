import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cancellation } from './cancellation.js';

test('listeners fire once, in order, and an unsubscribed one never', () => {
  const cancel = new Cancellation();
  const calls: string[] = [];
  cancel.onAbort(() => calls.push('a'));
  const off = cancel.onAbort(() => calls.push('b'));
  cancel.onAbort(() => calls.push('c'));
  off();
  cancel.abort('gone');
  cancel.abort('again');
  assert.deepEqual(calls, ['a', 'c']);
  assert.equal(cancel.reason, 'gone');
  cancel.onAbort(() => calls.push('late'));
  assert.deepEqual(calls, ['a', 'c', 'late']);
});

test('the AbortSignal view follows, whether made before or after the abort', () => {
  const before = new Cancellation();
  const signal = before.signal;
  assert.equal(signal.aborted, false);
  before.abort('x');
  assert.equal(signal.aborted, true);
  assert.equal(signal.reason, 'x');
  const after = new Cancellation();
  after.abort('y');
  assert.equal(after.signal.aborted, true);
  assert.equal(after.signal.reason, 'y');
});
