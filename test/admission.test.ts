/**
 * The gateway's own limits end to end: keys' and teams' rpm, tpm and concurrency, refused before the
 * upstream with 429, Retry-After and the IETF RateLimit fields; a request larger than a tpm limit is a 400;
 * with Redis, two gateways share one exact budget.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const model = 'gpt-4o-mini';

async function post(
  gw: TestGateway,
  key: string,
  body: Record<string, unknown> = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 },
  path = '/v1/chat/completions',
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe('limits of keys and teams (memory backend)', () => {
  let sim: SimulatorHandle;
  let slow: SimulatorHandle;
  let gw: TestGateway;

  before(async () => {
    sim = await startSimulator({ port: 0, outputTokens: 4 });
    slow = await startSimulator({ port: 0, latencyMs: 300 });
    gw = await startGateway({
      providers: [upstream('sim', sim.url), upstream('slow', slow.url)],
      models: [
        { name: 'm', targets: [{ provider: 'sim', model }] },
        { name: 'slow', targets: [{ provider: 'slow', model }] },
        { name: 'scarce', targets: [{ provider: 'sim', model }], limits: { rpm: 2 } },
      ],
      keys: [
        { name: 'rpm3', key: 'sk-admission-rpm3', limits: { rpm: 3 } },
        { name: 'tpm100', key: 'sk-admission-tpm100', limits: { tpm: 100 } },
        { name: 'one-at-a-time', key: 'sk-admission-conc1', limits: { concurrency: 1 } },
        { name: 'alpha-a', key: 'sk-admission-alpha-a', team: 'alpha' },
        { name: 'alpha-b', key: 'sk-admission-alpha-b', team: 'alpha' },
        { name: 'free', key: 'sk-admission-free' },
      ],
      teams: [{ name: 'alpha', limits: { rpm: 2 } }],
    });
  });

  after(async () => {
    await gw.close();
    await sim.close();
    await slow.close();
  });

  test('rpm: the excess is a 429 with Retry-After and RateLimit fields, and never reaches the upstream', async () => {
    const before = sim.stats.requests;
    for (let i = 0; i < 3; i++) assert.equal((await post(gw, 'sk-admission-rpm3')).status, 200);
    const refused = await post(gw, 'sk-admission-rpm3');
    assert.equal(refused.status, 429);
    assert.equal((refused.json['error'] as { code: string }).code, 'rate_limit_exceeded');
    assert.match((refused.json['error'] as { message: string }).message, /rpm limit of key:rpm3/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 20, `retry-after ${retryAfter}`);
    assert.equal(refused.headers.get('ratelimit-policy'), '"key-rpm3-rpm";q=3;w=60');
    assert.match(refused.headers.get('ratelimit') ?? '', /^"key-rpm3-rpm";r=0;t=\d+$/);
    assert.equal(sim.stats.requests, before + 3, 'the refused request cost the upstream nothing');
    // The Anthropic route answers in its own format.
    const messages = await post(
      gw,
      'sk-admission-rpm3',
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
      '/v1/messages',
    );
    assert.equal(messages.status, 429);
    assert.equal((messages.json['error'] as { type: string }).type, 'rate_limit_error');
    // A key without limits is untouched.
    assert.equal((await post(gw, 'sk-admission-free')).status, 200);
  });

  test('tpm: a request larger than the limit could ever admit is a 400 that says so', async () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 };
    const refused = await post(gw, 'sk-admission-tpm100', body);
    assert.equal(refused.status, 400);
    assert.equal((refused.json['error'] as { code: string }).code, 'request_exceeds_limit');
    assert.match((refused.json['error'] as { message: string }).message, /100 tokens per minute key:tpm100/);
    assert.equal(refused.headers.get('x-should-retry'), 'false');
    // Within the limit, the reservation is settled to the actual usage, so the next one fits again.
    const small = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 40 };
    for (let i = 0; i < 5; i++)
      assert.equal((await post(gw, 'sk-admission-tpm100', small)).status, 200, `request ${i}`);
  });

  test('a team limit is shared by its keys', async () => {
    assert.equal((await post(gw, 'sk-admission-alpha-a')).status, 200);
    assert.equal((await post(gw, 'sk-admission-alpha-b')).status, 200);
    const refused = await post(gw, 'sk-admission-alpha-b');
    assert.equal(refused.status, 429);
    assert.match((refused.json['error'] as { message: string }).message, /team:alpha/);
  });

  test("a model's limit holds for every key together, and /metrics counts the decisions", async () => {
    const body = { model: 'scarce', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 };
    assert.equal((await post(gw, 'sk-admission-free', body)).status, 200);
    assert.equal((await post(gw, 'sk-admission-conc1', body)).status, 200);
    const refused = await post(gw, 'sk-admission-free', body);
    assert.equal(refused.status, 429);
    assert.match((refused.json['error'] as { message: string }).message, /rpm limit of model:scarce/);
    assert.equal(refused.headers.get('ratelimit-policy'), '"model-scarce-rpm";q=2;w=60');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const count = (labels: string): number =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(`sluice_admission_decisions_total{${labels}}`))
          ?.split(' ')[1] ?? 0,
      );
    assert.ok(count('stage="limits",outcome="admitted",reason="within_limits"') >= 2);
    assert.ok(count('stage="limits",outcome="rejected",reason="rpm"') >= 1);
  });

  test('concurrency: the second request in flight is refused, and the slot comes back when the first ends', async () => {
    const body = { model: 'slow', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 };
    const [a, b] = await Promise.all([
      post(gw, 'sk-admission-conc1', body),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() => post(gw, 'sk-admission-conc1', body)),
    ]);
    assert.deepEqual([a.status, b.status], [200, 429]);
    assert.equal((await post(gw, 'sk-admission-conc1', body)).status, 200);
  });
});

describe('limits shared through Redis by two gateways', () => {
  test('rpm 10 admits exactly 10 of 40 concurrent requests across both', async () => {
    const sim = await startSimulator({ port: 0 });
    // A key name of its own: the limit's Redis keys are this run's alone (they expire once empty).
    const name = `shared-${randomUUID()}`;
    const config = {
      state: { backend: 'redis', redis_url: 'redis://127.0.0.1:6379/0' },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model }] }],
      keys: [{ name, key: 'sk-admission-shared-01', limits: { rpm: 10 } }],
    };
    const a = await startGateway(config);
    const b = await startGateway(config);
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(i % 2 === 0 ? a : b, 'sk-admission-shared-01')),
      );
      const admitted = results.filter((r) => r.status === 200).length;
      assert.equal(admitted, 10);
      assert.equal(results.filter((r) => r.status === 429).length, 30);
      assert.equal(sim.stats.requests, 10);
    } finally {
      await a.close();
      await b.close();
      await sim.close();
    }
  });

  test("a target's limits are shared too: two gateways send it exactly its rpm, the rest goes elsewhere", async () => {
    const limited = await startSimulator({ port: 0 });
    const spare = await startSimulator({ port: 0 });
    const provider = `limited-${randomUUID()}`;
    const config = {
      state: { backend: 'redis', redis_url: 'redis://127.0.0.1:6379/0' },
      providers: [upstream(provider, limited.url), upstream('spare', spare.url)],
      models: [
        {
          name: 'm',
          // The limited target first by weight, so it is asked whenever it has room.
          targets: [
            { provider, model, weight: 1000, limits: { rpm: 6 } },
            { provider: 'spare', model, weight: 0.001 },
          ],
        },
      ],
      keys: [{ name: 'free', key: 'sk-admission-target-01' }],
    };
    const a = await startGateway({ ...config, routing: { max_attempts: 2, cooldowns: false } });
    const b = await startGateway({ ...config, routing: { max_attempts: 2, cooldowns: false } });
    try {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => post(i % 2 === 0 ? a : b, 'sk-admission-target-01')),
      );
      assert.deepEqual(
        results.map((r) => r.status).filter((s) => s !== 200),
        [],
      );
      assert.equal(limited.stats.requests, 6);
      assert.equal(spare.stats.requests, 24);
    } finally {
      await a.close();
      await b.close();
      await limited.close();
      await spare.close();
    }
  });
});
