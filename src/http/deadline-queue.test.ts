import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineQueue } from './deadline-queue.js';

test('items expire in order, no earlier than their duration and within its resolution', async () => {
  const expired: { item: string; at: number }[] = [];
  const queue = new DeadlineQueue<string>(100, (item) => expired.push({ item, at: performance.now() }));
  const start = performance.now();
  queue.add('a');
  await sleep(30);
  queue.add('b');
  queue.add('c');
  queue.delete('c');
  await sleep(250);
  assert.deepEqual(
    expired.map((e) => e.item),
    ['a', 'b'],
  );
  const [a, b] = expired;
  assert.ok(a !== undefined && b !== undefined);
  assert.ok(a.at - start >= 100, `a fired after ${a.at - start} ms`);
  // Resolution is 5 ms here; timers on a loaded machine may add more, but not a whole duration.
  assert.ok(a.at - start < 200, `a fired after ${a.at - start} ms`);
  assert.ok(b.at - start >= 130, `b fired after ${b.at - start} ms`);
  assert.equal(queue.size, 0);
});

test('a deleted item never fires; re-adding an item keeps its first deadline', async () => {
  const fired: string[] = [];
  const queue = new DeadlineQueue<string>(40, (item) => fired.push(item));
  queue.add('x');
  queue.delete('x');
  queue.add('y');
  await sleep(20);
  queue.add('y');
  await sleep(35);
  assert.deepEqual(fired, ['y']);
});

test('a throwing handler does not stop the sweep of later items', async () => {
  const fired: number[] = [];
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const queue = new DeadlineQueue<number>(20, (n) => {
    if (n === 1) throw new Error('boom');
    fired.push(n);
  });
  queue.add(1);
  queue.add(2);
  await sleep(80);
  process.off('warning', onWarning);
  assert.deepEqual(fired, [2]);
  assert.ok(warnings.some((w) => w.includes('boom')));
});

test('refuses a duration that is not a positive number', () => {
  assert.throws(() => new DeadlineQueue(0, () => undefined), /positive/);
  assert.throws(() => new DeadlineQueue(Number.NaN, () => undefined), /positive/);
});
