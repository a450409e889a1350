import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServingCapacity } from './capacity.js';
import { simulator, user, waitFor } from './test-helpers.js';

function setup(limit: number) {
  const box = { limit };
  const capacity = new ServingCapacity(() => box.limit);
  const started: string[] = [];
  const take = (name: string) => capacity.acquire(() => started.push(name));
  return { box, capacity, started, take };
}

test('up to the limit start at once; the rest start in arrival order as slots free', () => {
  const { capacity, started, take } = setup(2);
  const a = take('a');
  const b = take('b');
  take('c');
  take('d');
  assert.deepEqual(started, ['a', 'b']);
  assert.equal(capacity.inService, 2);
  assert.equal(capacity.queued, 2);
  b();
  assert.deepEqual(started, ['a', 'b', 'c']);
  a();
  assert.deepEqual(started, ['a', 'b', 'c', 'd']);
  assert.equal(capacity.inService, 2);
  assert.equal(capacity.queued, 0);
});

test('a newcomer does not overtake the line when a slot is free for a moment', () => {
  const { box, capacity, started, take } = setup(1);
  take('a');
  take('b');
  // Raising the limit without draining leaves room that the waiter, not the newcomer, must get.
  box.limit = 2;
  take('c');
  assert.deepEqual(started, ['a']);
  capacity.drain();
  assert.deepEqual(started, ['a', 'b']);
});

test('a release acts once, however often it is called', () => {
  const { capacity, started, take } = setup(1);
  const a = take('a');
  take('b');
  take('c');
  a();
  a();
  a();
  assert.deepEqual(started, ['a', 'b']);
  assert.equal(capacity.inService, 1);
  assert.equal(capacity.queued, 1);
});

test('a waiter released before its turn leaves the line and never starts', () => {
  const { capacity, started, take } = setup(1);
  const a = take('a');
  const b = take('b');
  take('c');
  b();
  assert.equal(capacity.queued, 1);
  a();
  assert.deepEqual(started, ['a', 'c']);
  b(); // released again once c holds the slot: must not free c's slot
  assert.equal(capacity.inService, 1);
});

test('onStart is told each start and how long it waited in line', async () => {
  const { capacity, take } = setup(1);
  const waits: number[] = [];
  capacity.onStart = (ms) => waits.push(ms);
  const first = take('a');
  take('b');
  assert.equal(waits.length, 1);
  assert.ok(waits[0]! < 5, `a free slot is no wait: ${waits[0]}`);
  await new Promise((resolve) => setTimeout(resolve, 30));
  first();
  assert.equal(waits.length, 2);
  assert.ok(waits[1]! >= 25, `the second waited for the first: ${waits[1]}`);
});

test('0 means no limit, and a limit lowered to 0 lets every waiter in', () => {
  const { box, capacity, started, take } = setup(0);
  for (const name of ['a', 'b', 'c']) take(name);
  assert.equal(capacity.inService, 3);
  box.limit = 1;
  take('d');
  assert.equal(capacity.queued, 1);
  box.limit = 0;
  capacity.drain();
  assert.deepEqual(started, ['a', 'b', 'c', 'd']);
});

test('with --max-concurrency 2 and a 100 ms TTFT, 4 requests take two rounds', async (t) => {
  const { sim, client } = await simulator(t, { maxConcurrency: 2, ttftMs: 100, outputTokens: 3 });
  const started = performance.now();
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
      done.push(performance.now() - started);
    }),
  );
  done.sort((a, b) => a - b);
  // Two finish after ~100 ms and two after ~200 ms; the bounds are loose for loaded CI machines.
  assert.ok(done[1]! >= 95, `first round ${done[1]} ms`);
  assert.ok(done[3]! >= 195, `second round ${done[3]} ms`);
  assert.ok(done[3]! < 1500, `second round ${done[3]} ms`);
  assert.equal(sim.capacity.inService, 0);
  assert.equal(sim.capacity.queued, 0);
});

test('the other formats share the same slots (Anthropic messages)', async (t) => {
  const { sim } = await simulator(t, { format: 'anthropic', maxConcurrency: 1, ttftMs: 100 });
  const started = performance.now();
  const send = async (): Promise<number> => {
    const response = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 3,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    return performance.now() - started;
  };
  const done = (await Promise.all([send(), send()])).sort((a, b) => a - b);
  assert.ok(done[1]! >= 195, `second answer after ${done[1]} ms`);
});

test('a stream holds its slot until its last chunk', async (t) => {
  const { client } = await simulator(t, { maxConcurrency: 1, tokensPerSecond: 20, outputTokens: 4 });
  const firstTokenAt: number[] = [];
  const endAt: number[] = [];
  const started = performance.now();
  await Promise.all(
    ['a', 'b'].map(async (name) => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: user(name),
        stream: true,
      });
      let seen = false;
      for await (const chunk of stream) {
        if (!seen && chunk.choices[0]?.delta.content) {
          firstTokenAt.push(performance.now() - started);
          seen = true;
        }
      }
      endAt.push(performance.now() - started);
    }),
  );
  // 4 tokens at 20/s take ~150 ms: the second stream's first token comes after the first stream ended.
  assert.ok(
    firstTokenAt[1]! >= endAt[0]! - 5,
    `second first token ${firstTokenAt[1]} ms, first end ${endAt[0]} ms`,
  );
});

test('a client that leaves while waiting gives up its place, and one that leaves while served its slot', async (t) => {
  const { sim, client } = await simulator(t, { maxConcurrency: 1, ttftMs: 300, outputTokens: 3 });
  const first = client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('a') });
  const leaving = new AbortController();
  const second = client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: user('b') },
    { signal: leaving.signal },
  );
  assert.ok(await waitFor(() => sim.capacity.queued === 1, 2000));
  leaving.abort();
  await assert.rejects(second);
  assert.ok(await waitFor(() => sim.capacity.queued === 0, 2000));
  assert.equal(sim.capacity.inService, 1);
  await first;
  assert.ok(await waitFor(() => sim.capacity.inService === 0, 2000));

  const served = new AbortController();
  const third = client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: user('c') },
    { signal: served.signal },
  );
  assert.ok(await waitFor(() => sim.capacity.inService === 1, 2000));
  served.abort();
  await assert.rejects(third);
  assert.ok(await waitFor(() => sim.capacity.inService === 0, 2000));
  // The freed slot serves the next request without waiting for the aborted one's 300 ms.
  const quick = performance.now();
  sim.setOptions({ ttftMs: 0 });
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('d') });
  assert.ok(performance.now() - quick < 250);
});
