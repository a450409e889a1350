/**
 * Priorities and shedding end to end, with adaptive concurrency on and the target held to one slot: the
 * waiting interactive request goes before the batch one that came first, a wait that would outlast the
 * class's limit is a 503 with Retry-After, and `x-sluice-priority` can only lower the key's class.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const model = 'gpt-4o-mini';

function send(
  gw: TestGateway,
  key: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; at: number; retryAfter: string | null; body: string }> {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  }).then(async (response) => ({
    status: response.status,
    at: performance.now(),
    retryAfter: response.headers.get('retry-after'),
    body: await response.text(),
  }));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('one slot, two classes', () => {
  let slow: SimulatorHandle;
  let gw: TestGateway;
  let strict: TestGateway;

  before(async () => {
    slow = await startSimulator({ port: 0, latencyMs: 250 });
    const base = {
      providers: [upstream('slow', slow.url)],
      models: [{ name: 'm', targets: [{ provider: 'slow', model }] }],
      keys: [
        { name: 'app', key: 'sk-queue-interactive-1' },
        { name: 'jobs', key: 'sk-queue-batch-00001', priority: 'batch' },
      ],
    };
    const oneSlot = { enabled: true, initial: 1, min: 1, max: 1 };
    gw = await startGateway({ ...base, admission: { adaptive_concurrency: oneSlot } });
    strict = await startGateway({
      ...base,
      admission: { adaptive_concurrency: oneSlot, queue: { interactive_wait_ms: 100 } },
    });
  });

  after(async () => {
    await gw.close();
    await strict.close();
    await slow.close();
  });

  test('a waiting interactive request goes before a batch one that arrived earlier', async () => {
    const first = send(gw, 'sk-queue-interactive-1');
    await pause(50);
    const batch = send(gw, 'sk-queue-batch-00001');
    await pause(30);
    const interactive = send(gw, 'sk-queue-interactive-1');
    const [a, b, c] = await Promise.all([first, batch, interactive]);
    assert.deepEqual([a.status, b.status, c.status], [200, 200, 200]);
    assert.ok(c.at < b.at, `interactive done at ${c.at.toFixed(0)}, batch at ${b.at.toFixed(0)}`);
    // One at a time: the upstream never saw two at once.
    assert.equal(slow.stats.requests >= 3, true);
  });

  test('a client cannot raise its class: a batch key asking for interactive still waits behind interactive', async () => {
    const first = send(gw, 'sk-queue-interactive-1');
    await pause(50);
    const raised = send(gw, 'sk-queue-batch-00001', { 'x-sluice-priority': 'interactive' });
    await pause(30);
    const interactive = send(gw, 'sk-queue-interactive-1');
    const [, b, c] = await Promise.all([first, raised, interactive]);
    assert.ok(c.at < b.at, 'the batch key stayed batch');
    // And an interactive key may lower itself.
    const lowered = await send(gw, 'sk-queue-interactive-1', { 'x-sluice-priority': 'batch' });
    assert.equal(lowered.status, 200);
  });

  test('a wait that would outlast the class limit is shed with 503 and Retry-After; nothing is sent', async () => {
    const before = slow.stats.requests;
    const first = send(strict, 'sk-queue-interactive-1');
    await pause(30);
    const shed = await send(strict, 'sk-queue-interactive-1');
    assert.equal(shed.status, 503);
    assert.match(shed.body, /"code":"overloaded"/);
    assert.ok(Number(shed.retryAfter) >= 1);
    assert.equal((await first).status, 200);
    assert.equal(slow.stats.requests, before + 1, 'the shed request never reached the upstream');
  });

  test('/metrics shows the adaptive limit, the queue, its waits and the shedding', async () => {
    const text = await (await fetch(`${strict.url}/metrics`)).text();
    const line = (prefix: string): string | undefined => text.split('\n').find((l) => l.startsWith(prefix));
    assert.equal(
      line('sluice_adaptive_concurrency_limit{'),
      'sluice_adaptive_concurrency_limit{provider="slow",target_model="gpt-4o-mini"} 1',
    );
    // The batch limit is the limit here: both are held at min, one slot.
    assert.equal(
      line('sluice_adaptive_concurrency_batch_limit{'),
      'sluice_adaptive_concurrency_batch_limit{provider="slow",target_model="gpt-4o-mini"} 1',
    );
    assert.match(line('sluice_admission_queue_length{') ?? '', / 0$/);
    assert.match(line('sluice_admission_queue_wait_seconds_count{priority="interactive"}') ?? '', / [1-9]/);
    assert.match(
      line('sluice_admission_decisions_total{stage="queue",outcome="shed",reason="deadline"}') ?? '',
      / [1-9]/,
    );
    assert.match(
      line('sluice_admission_decisions_total{stage="queue",outcome="admitted",reason="immediate"}') ?? '',
      / [1-9]/,
    );
  });

  test('a bad x-sluice-priority is a 400 naming the header', async () => {
    const reply = await send(gw, 'sk-queue-interactive-1', { 'x-sluice-priority': 'urgent' });
    assert.equal(reply.status, 400);
    assert.match(reply.body, /x-sluice-priority/);
  });
});
