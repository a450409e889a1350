/**
 * Budgets end to end on the memory backend: key, team and end-user budgets refuse with 429
 * `budget_exceeded` and `x-should-retry: false` in each route's format; an answer is charged its actual
 * cost, a failed attempt nothing; prices come from the config or the maintained table.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

/** $1,000 per million output tokens and free input: a 5-token answer costs $0.005. */
const price = { input_per_mtok: 0, output_per_mtok: 1_000 };

async function post(
  gw: TestGateway,
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  path = '/v1/chat/completions',
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as never };
}

const chat = (maxTokens: number, extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  max_tokens: maxTokens,
  ...extra,
});

describe('budgets (memory backend)', () => {
  let sim: SimulatorHandle;
  let failing: SimulatorHandle;
  let gw: TestGateway;

  before(async () => {
    sim = await startSimulator({ port: 0, outputTokens: 50 });
    failing = await startSimulator({ port: 0, errorRate: 1 });
    gw = await startGateway({
      providers: [upstream('sim', sim.url), upstream('broken', failing.url)],
      models: [
        { name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price },
        { name: 'down', targets: [{ provider: 'broken', model: 'gpt-4o-mini' }], price },
        // No price in the config: the maintained table's gpt-4o-mini.
        { name: 'listed', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] },
      ],
      keys: [
        { name: 'two-cents', key: 'sk-budget-two-cents', budget: { usd: 0.02, period: 'daily' } },
        { name: 'team-a', key: 'sk-budget-team-a-01', team: 'small' },
        { name: 'team-b', key: 'sk-budget-team-b-01', team: 'small' },
        { name: 'per-user', key: 'sk-budget-per-user1', end_user_budget: { usd: 0.01, period: 'monthly' } },
        { name: 'tiny', key: 'sk-budget-tiny-0001', budget: { usd: 0.000_01, period: 'total' } },
      ],
      teams: [{ name: 'small', budget: { usd: 0.01, period: 'weekly' } }],
    });
  });

  after(async () => {
    await gw.close();
    await sim.close();
    await failing.close();
  });

  test('a key budget admits while the worst case fits, then 429 budget_exceeded, x-should-retry: false', async () => {
    const before = sim.stats.requests;
    // $0.005 each: four fit in $0.02.
    for (let i = 0; i < 4; i++) assert.equal((await post(gw, 'sk-budget-two-cents', chat(5))).status, 200);
    const refused = await post(gw, 'sk-budget-two-cents', chat(5));
    assert.equal(refused.status, 429);
    const error = refused.json['error'] as { code: string; type: string; message: string };
    assert.equal(error.code, 'budget_exceeded');
    assert.equal(refused.headers.get('x-should-retry'), 'false');
    assert.match(error.message, /budget of key:two-cents is exhausted: \$0\.000000 of \$0\.02 left/);
    assert.match(error.message, /resets at \d{4}-\d\d-\d\dT00:00:00\.000Z/);
    assert.equal(sim.stats.requests, before + 4, 'the refused request never reached the upstream');
    // The Anthropic route answers in its own format.
    const messages = await post(gw, 'sk-budget-two-cents', chat(5), {}, '/v1/messages');
    assert.equal(messages.status, 429);
    assert.equal((messages.json['error'] as { type: string }).type, 'rate_limit_error');
  });

  test('a team budget is shared by its keys', async () => {
    assert.equal((await post(gw, 'sk-budget-team-a-01', chat(10))).status, 200);
    const refused = await post(gw, 'sk-budget-team-b-01', chat(1));
    assert.equal(refused.status, 429);
    assert.match((refused.json['error'] as { message: string }).message, /team:small/);
  });

  test('the reservation is the worst case; the charge is the actual cost, and the rest comes back', async () => {
    const short = await startSimulator({ port: 0, outputTokens: 2 });
    const gw2 = await startGateway({
      providers: [upstream('short', short.url)],
      models: [{ name: 'm', targets: [{ provider: 'short', model: 'gpt-4o-mini' }], price }],
      keys: [{ name: 'cent', key: 'sk-budget-cent-0001', budget: { usd: 0.01, period: 'total' } }],
    });
    try {
      // Reserves $0.01 (max_tokens 10), answers 2 tokens: charged $0.002.
      assert.equal((await post(gw2, 'sk-budget-cent-0001', chat(10))).status, 200);
      const refused = await post(gw2, 'sk-budget-cent-0001', chat(9));
      assert.equal(refused.status, 429, 'a $0.009 worst case does not fit in $0.008');
      assert.match((refused.json['error'] as { message: string }).message, /\$0\.008000 of \$0\.01 left/);
      assert.equal((await post(gw2, 'sk-budget-cent-0001', chat(8))).status, 200, '$0.008 does');
    } finally {
      await gw2.close();
      await short.close();
    }
  });

  test('each end-user of a key has a budget of its own (user field or x-sluice-end-user)', async () => {
    assert.equal((await post(gw, 'sk-budget-per-user1', chat(10, { user: 'alice' }))).status, 200);
    assert.equal((await post(gw, 'sk-budget-per-user1', chat(1, { user: 'alice' }))).status, 429);
    assert.equal(
      (await post(gw, 'sk-budget-per-user1', chat(10), { 'x-sluice-end-user': 'bob' })).status,
      200,
    );
    // The header wins over the field.
    const header = await post(gw, 'sk-budget-per-user1', chat(1, { user: 'carol' }), {
      'x-sluice-end-user': 'bob',
    });
    assert.equal(header.status, 429);
    assert.match((header.json['error'] as { message: string }).message, /end_user:per-user:bob/);
    // No end-user named: no end-user budget applies.
    assert.equal((await post(gw, 'sk-budget-per-user1', chat(10))).status, 200);
  });

  test('a failed upstream attempt costs nothing', async () => {
    const gw2 = await startGateway({
      providers: [upstream('broken', failing.url), upstream('sim', sim.url)],
      models: [
        { name: 'down', targets: [{ provider: 'broken', model: 'gpt-4o-mini' }], price },
        { name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price },
      ],
      keys: [{ name: 'once', key: 'sk-budget-once-0001', budget: { usd: 0.005, period: 'total' } }],
    });
    try {
      for (let i = 0; i < 3; i++) {
        const failed = await post(gw2, 'sk-budget-once-0001', { ...chat(5), model: 'down' });
        assert.equal(failed.status, 502);
      }
      assert.equal((await post(gw2, 'sk-budget-once-0001', chat(5))).status, 200, 'the budget is whole');
      assert.equal((await post(gw2, 'sk-budget-once-0001', chat(5))).status, 429);
    } finally {
      await gw2.close();
    }
  });

  test("without a price in the config, the maintained table's is used", async () => {
    // gpt-4o-mini's output price makes even a 1,000-token worst case far more than $0.00001.
    const refused = await post(gw, 'sk-budget-tiny-0001', { ...chat(1_000), model: 'listed' });
    assert.equal(refused.status, 429);
    assert.match((refused.json['error'] as { message: string }).message, /may cost up to \$0\.000[0-9]+/);
  });

  test('a soft threshold logs once and calls the webhook once per period', async () => {
    const received: Record<string, unknown>[] = [];
    const hook = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        received.push(JSON.parse(text) as Record<string, unknown>);
        res.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const gw2 = await startGateway({
      budgets: { webhook_url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price }],
      keys: [
        {
          name: 'watched',
          key: 'sk-budget-watched-1',
          budget: { usd: 0.1, period: 'monthly', soft_usd: 0.012 },
        },
      ],
    });
    try {
      // $0.005 each: the third passes $0.012; the fourth and fifth do not announce again.
      for (let i = 0; i < 5; i++) assert.equal((await post(gw2, 'sk-budget-watched-1', chat(5))).status, 200);
      const deadline = Date.now() + 5_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received.length, 1, JSON.stringify(received));
      assert.equal(received[0]?.['type'], 'budget.soft_threshold');
      assert.equal(received[0]?.['subject'], 'key:watched');
      assert.equal(received[0]?.['soft_usd'], 0.012);
      assert.ok(Number(received[0]?.['spent_usd']) >= 0.012);
      const warned = gw2.logs.filter((l) => String(l['msg']).includes('passed its soft threshold'));
      assert.equal(warned.length, 1);
      // Each access line carries what the request was charged.
      const charged = gw2.logs.filter((l) => l['msg'] === 'request').map((l) => l['cost_usd']);
      assert.deepEqual(charged, [0.005, 0.005, 0.005, 0.005, 0.005]);
    } finally {
      await gw2.close();
      await new Promise((resolve) => hook.close(resolve));
    }
  });
});
