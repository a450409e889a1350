/**
 * Idempotency-Key end to end (memory backend), and one contract for both stores (memory, Redis).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IdempotencyStore } from '../src/idempotency/idempotency-store.js';
import { MemoryIdempotencyStore } from '../src/idempotency/memory-idempotency.js';
import { openRedisIdempotencyStore } from '../src/idempotency/redis-idempotency.js';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';
import { deleteKeysWithPrefix, redisUrl, skipWithoutRedis } from './helpers/redis.js';

interface Reply {
  status: number;
  replay: string | null;
  text: string;
}

async function post(
  gw: TestGateway,
  key: string,
  idempotencyKey: string | undefined,
  body: Record<string, unknown>,
): Promise<Reply> {
  const response = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    replay: response.headers.get('x-sluice-idempotent-replay'),
    text: await response.text(),
  };
}

const chat = (content = 'hi', extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content }],
  max_tokens: 5,
  ...extra,
});

describe('Idempotency-Key (memory backend)', () => {
  let sim: SimulatorHandle;
  let slow: SimulatorHandle;
  let broken: SimulatorHandle;
  let gw: TestGateway;

  before(async () => {
    sim = await startSimulator({ port: 0, outputTokens: 50 });
    slow = await startSimulator({ port: 0, latencyMs: 300, tokensPerSecond: 50, outputTokens: 10 });
    broken = await startSimulator({ port: 0, errorRate: 1 });
    gw = await startGateway({
      providers: [upstream('sim', sim.url), upstream('slow', slow.url), upstream('broken', broken.url)],
      models: [
        {
          name: 'm',
          targets: [{ provider: 'sim', model: 'gpt-4o-mini' }],
          price: { input_per_mtok: 0, output_per_mtok: 1_000 },
        },
        { name: 'slow', targets: [{ provider: 'slow', model: 'gpt-4o-mini' }] },
        { name: 'down', targets: [{ provider: 'broken', model: 'gpt-4o-mini' }] },
      ],
      keys: [
        { name: 'a', key: 'sk-idem-key-a-0001' },
        { name: 'b', key: 'sk-idem-key-b-0001' },
        { name: 'one-request', key: 'sk-idem-budget-001', budget: { usd: 0.005, period: 'total' } },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await sim.close();
    await slow.close();
    await broken.close();
  });

  test('a repeat with the same key and body replays the first answer, without calling upstream', async () => {
    const before = sim.stats.requests;
    const first = await post(gw, 'sk-idem-key-a-0001', 'order-1', chat());
    const second = await post(gw, 'sk-idem-key-a-0001', 'order-1', chat());
    assert.equal(first.status, 200);
    assert.equal(first.replay, null);
    assert.equal(second.status, 200);
    assert.equal(second.replay, 'true');
    assert.equal(second.text, first.text, 'the same answer, byte for byte');
    assert.equal(sim.stats.requests, before + 1);
  });

  test('the same key with another body is a 422; keys are scoped per virtual key', async () => {
    assert.equal((await post(gw, 'sk-idem-key-a-0001', 'order-2', chat('one'))).status, 200);
    const other = await post(gw, 'sk-idem-key-a-0001', 'order-2', chat('two'));
    assert.equal(other.status, 422);
    assert.equal(
      (JSON.parse(other.text) as { error: { code: string } }).error.code,
      'idempotency_key_reused',
    );
    const before = sim.stats.requests;
    const b = await post(gw, 'sk-idem-key-b-0001', 'order-2', chat('two'));
    assert.equal(b.status, 200);
    assert.equal(b.replay, null, "another virtual key's Idempotency-Key is its own");
    assert.equal(sim.stats.requests, before + 1);
  });

  test('a repeat while the first still runs waits for it, streams included', async () => {
    for (const stream of [false, true]) {
      const before = slow.stats.requests;
      const body = chat('wait', { model: 'slow', ...(stream ? { stream: true } : {}) });
      const first = post(gw, 'sk-idem-key-a-0001', `running-${stream}`, body);
      await sleep(100);
      const second = await post(gw, 'sk-idem-key-a-0001', `running-${stream}`, body);
      const done = await first;
      assert.equal(done.status, 200);
      assert.equal(second.status, 200);
      assert.equal(second.replay, 'true');
      assert.equal(second.text, done.text);
      if (stream) assert.ok(second.text.trimEnd().endsWith('data: [DONE]'), second.text.slice(-100));
      assert.equal(slow.stats.requests, before + 1, 'one upstream call');
    }
  });

  test('a failed first attempt is not stored: the retry runs again', async () => {
    const before = broken.stats.requests;
    const body = chat('x', { model: 'down' });
    assert.equal((await post(gw, 'sk-idem-key-a-0001', 'fails', body)).status, 502);
    const retry = await post(gw, 'sk-idem-key-a-0001', 'fails', body);
    assert.equal(retry.status, 502);
    assert.equal(retry.replay, null);
    assert.equal(broken.stats.requests, before + 2);
  });

  test('a replay is not billed again', async () => {
    // The budget holds exactly one $0.005 request.
    assert.equal((await post(gw, 'sk-idem-budget-001', 'paid', chat())).status, 200);
    assert.equal((await post(gw, 'sk-idem-budget-001', 'paid', chat())).replay, 'true');
    assert.equal(
      (await post(gw, 'sk-idem-budget-001', undefined, chat())).status,
      429,
      'the budget is spent',
    );
  });

  test('a malformed Idempotency-Key is a 400', async () => {
    assert.equal((await post(gw, 'sk-idem-key-a-0001', 'has space', chat())).status, 400);
    assert.equal((await post(gw, 'sk-idem-key-a-0001', 'x'.repeat(256), chat())).status, 400);
  });
});

const prefix = `{sluice-test-${randomUUID()}}:`;
after(() => deleteKeysWithPrefix(prefix));

function suite(name: string, open: () => Promise<IdempotencyStore>, skip: string | false = false): void {
  describe(`idempotency store conformance: ${name}`, { skip }, () => {
    test('claim, run, complete, replay; mismatch; release frees; a lapsed claim is free', async () => {
      const store = await open();
      try {
        const scope = `k:${randomUUID()}`;
        assert.deepEqual(await store.claim(scope, 'fp1', 10_000), { kind: 'owner' });
        assert.deepEqual(await store.claim(scope, 'fp1', 10_000), { kind: 'running' });
        assert.deepEqual(await store.claim(scope, 'fp2', 10_000), { kind: 'mismatch' });
        const response = {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from([0, 1, 255]),
        };
        await store.complete(scope, 'fp1', response, 60_000);
        assert.deepEqual(await store.claim(scope, 'fp1', 10_000), { kind: 'done', response });

        const freed = `k:${randomUUID()}`;
        assert.equal((await store.claim(freed, 'fp', 10_000)).kind, 'owner');
        await store.release(freed, 'fp');
        assert.equal((await store.claim(freed, 'fp', 10_000)).kind, 'owner');

        const lapsed = `k:${randomUUID()}`;
        assert.equal((await store.claim(lapsed, 'fp', 50)).kind, 'owner');
        await sleep(120);
        assert.equal(
          (await store.claim(lapsed, 'fp', 50)).kind,
          'owner',
          'a dead owner does not hold it forever',
        );
      } finally {
        await store.close();
      }
    });
  });
}

suite('memory', async () => new MemoryIdempotencyStore());
suite('redis', () => openRedisIdempotencyStore({ url: redisUrl, prefix }), skipWithoutRedis);
