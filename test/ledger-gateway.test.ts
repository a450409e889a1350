/**
 * The ledger through the gateway: every routed request becomes a row (key, team, end-user, model, target,
 * tokens, cost, status), `GET /admin/spend` sums them behind the admin key, and a `sluice serve` process
 * stopped with SIGTERM has committed every request it answered.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteLedger } from '../src/ledger/index.js';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';
import { startServeProcess } from './helpers/serve-process.js';

/** A 5-token answer costs $0.005 at this price. */
const price = { input_per_mtok: 0, output_per_mtok: 1_000 };
const adminKey = 'sk-admin-ledger-test-01';

async function chat(url: string, key: string, extra: Record<string, unknown> = {}): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
      ...extra,
    }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function spend(gw: TestGateway, query: string, key = adminKey) {
  const response = await fetch(`${gw.url}/admin/spend?${query}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('the ledger through the gateway', () => {
  let sim: SimulatorHandle;
  let gw: TestGateway;

  before(async () => {
    sim = await startSimulator({ port: 0, outputTokens: 50 });
    gw = await startGateway({
      server: { admin_key: adminKey },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price }],
      keys: [
        { name: 'app-a', key: 'sk-ledger-app-a-001', team: 'alpha' },
        { name: 'app-b', key: 'sk-ledger-app-b-001', team: 'alpha', limits: { rpm: 2 } },
      ],
      teams: [{ name: 'alpha' }],
    });
  });

  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('rows for every routed request, summed by key, team, model and end-user', async () => {
    for (let i = 0; i < 3; i++)
      assert.equal(await chat(gw.url, 'sk-ledger-app-a-001', { user: 'alice' }), 200);
    for (let i = 0; i < 3; i++) assert.equal(await chat(gw.url, 'sk-ledger-app-b-001'), i < 2 ? 200 : 429);
    // The writer flushes every 200 ms.
    let byKey: { group: string; spend_usd: number; requests: number; output_tokens: number }[] = [];
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      byKey = (await spend(gw, 'group_by=key')).json['data'] as typeof byKey;
      if (byKey.reduce((n, row) => n + row.requests, 0) === 6) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const a = byKey.find((row) => row.group === 'app-a');
    const b = byKey.find((row) => row.group === 'app-b');
    assert.ok(a !== undefined && b !== undefined, JSON.stringify(byKey));
    assert.equal(a.requests, 3);
    assert.ok(Math.abs(a.spend_usd - 0.015) < 1e-9, `spend ${a.spend_usd}`);
    assert.equal(a.output_tokens, 15);
    // app-b's third request was refused by its rpm limit: a row with cost 0.
    assert.equal(b.requests, 3);
    assert.ok(Math.abs(b.spend_usd - 0.01) < 1e-9, `spend ${b.spend_usd}`);
    const team = (await spend(gw, 'group_by=team')).json['data'] as { group: string; requests: number }[];
    assert.deepEqual(
      team.map((row) => [row.group, row.requests]),
      [['alpha', 6]],
    );
    const users = (await spend(gw, 'group_by=end_user')).json['data'] as { group: string | null }[];
    assert.ok(users.some((row) => row.group === 'alice'));
    const future = (await spend(gw, `group_by=model&from=${new Date(Date.now() + 3_600_000).toISOString()}`))
      .json['data'] as unknown[];
    assert.deepEqual(future, [], 'a time range after the requests sums nothing');
  });

  test('/admin/spend needs the admin key and names a bad parameter', async () => {
    assert.equal((await spend(gw, 'group_by=key', 'sk-ledger-app-a-001')).status, 401);
    assert.equal((await spend(gw, 'group_by=key', '')).status, 401);
    const bad = await spend(gw, 'group_by=planet');
    assert.equal(bad.status, 400);
    assert.equal((bad.json['error'] as { param: string }).param, 'group_by');
    const when = await spend(gw, 'group_by=key&from=yesterday');
    assert.equal(when.status, 400);
    assert.equal((when.json['error'] as { param: string }).param, 'from');
  });

  test('without an admin key configured, /admin does not exist', async () => {
    const plain = await startGateway({
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
    });
    try {
      const response = await fetch(`${plain.url}/admin/spend?group_by=key`);
      assert.equal(response.status, 404);
      await response.arrayBuffer();
    } finally {
      await plain.close();
    }
  });
});

test('a sluice serve process stopped with SIGTERM has committed every request it answered', async () => {
  const sim = await startSimulator({ port: 0, outputTokens: 50 });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-ledger-serve-'));
  try {
    const config = {
      server: { host: '127.0.0.1', shutdown_grace_ms: 2_000 },
      logging: { level: 'warn' },
      database: { url: 'embedded', path: join(dir, 'data') },
      providers: [{ name: 'sim', kind: 'openai-compatible', base_url: `${sim.url}/v1`, api_key: 'sk-up-1' }],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price }],
      keys: [{ name: 'durable', key: 'sk-ledger-durable-1' }],
    };
    const path = join(dir, 'sluice.json');
    await writeFile(path, JSON.stringify(config));
    const serve = await startServeProcess(path);
    const statuses = await Promise.all(
      Array.from({ length: 100 }, () => chat(serve.url, 'sk-ledger-durable-1')),
    );
    assert.deepEqual([...new Set(statuses)], [200]);
    // At once, before the writer's next flush: the rows are in the journal only, until close flushes them.
    await serve.stop(10_000);
    const store = new SqliteLedger({ directory: join(dir, 'data') });
    try {
      const total = await store.spend({ groupBy: 'key' });
      assert.deepEqual(
        total.data.map((row) => [row.group, row.requests]),
        [['durable', 100]],
      );
      assert.ok(Math.abs((total.data[0]?.spend_usd ?? 0) - 0.5) < 1e-9);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await sim.close();
  }
});
