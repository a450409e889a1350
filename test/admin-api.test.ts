/**
 * The admin API's keys and teams through real gateways: two replicas on one embedded database (as two
 * processes on one data directory would be), so a key made on one must work on the other, and a
 * revocation must stop it on both, without a restart. Then the refusals: every malformed or forbidden
 * admin request is a 4xx in the OpenAI error shape, naming what is wrong.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { randomUUID } from 'node:crypto';
import { mutate, pick, rng } from './helpers/fuzz.js';
import { deleteKeysWithPrefix, redisUrl, skipWithoutRedis } from './helpers/redis.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const adminKey = 'sk-admin-accounts-test-01';
const configKey = 'sk-config-key-accounts-01';
/** A 5-token answer costs $0.005 at this price. */
const price = { input_per_mtok: 0, output_per_mtok: 1_000 };

interface Answer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

async function call(
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${gw.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the assertions on status say what went wrong
  }
  return { status: response.status, json, text, headers: response.headers };
}

async function chat(gw: TestGateway, key: string | undefined, model = 'm'): Promise<number> {
  const response = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Polls until `check` holds (the other replica reads changes every sync interval). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 3_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`${what}: not within ${timeoutMs} ms`);
}

function errorOf(answer: Answer): { code: string; param: string | null; message: string; type: string } {
  return answer.json['error'] as { code: string; param: string | null; message: string; type: string };
}

describe('admin API: keys and teams on two replicas', () => {
  let sim: SimulatorHandle;
  let a: TestGateway;
  let b: TestGateway;
  let data: string;

  before(async () => {
    sim = await startSimulator({ port: 0, outputTokens: 5 });
    data = mkdtempSync(join(tmpdir(), 'sluice-admin-'));
    const config = {
      server: { admin_key: adminKey },
      database: { url: 'embedded', path: data, sync_interval_ms: 100 },
      providers: [upstream('sim', sim.url)],
      models: [
        { name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price },
        { name: 'other', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price },
      ],
      keys: [{ name: 'from-config', key: configKey, team: 'config-team' }],
      teams: [{ name: 'config-team' }],
    };
    a = await startGateway(config);
    b = await startGateway(config);
  });

  after(async () => {
    await a.close();
    await b.close();
    await sim.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('a key made on one replica works on both, changes apply, revocation stops it everywhere', async () => {
    const created = await call(a, 'POST', '/admin/keys', { name: 'app-one', models: ['m'] });
    assert.equal(created.status, 201, created.text);
    const secret = created.json['key'] as string;
    const id = created.json['id'] as string;
    assert.match(secret, /^sk-sluice-[A-Za-z0-9_-]{32}$/);
    assert.match(id, /^key_/);
    assert.equal(created.json['source'], 'api');
    assert.equal(created.json['key_hint'], `sk-sluice-…${secret.slice(-4)}`);
    assert.equal(created.json['priority'], 'interactive');

    // At once on the replica that made it; within the sync interval on the other.
    assert.equal(await chat(a, secret), 200);
    await eventually(async () => (await chat(b, secret)) === 200, 'the key on replica b');
    // The allow-list holds (a model the key may not use is not found, as for an unknown one).
    assert.equal(await chat(a, secret, 'other'), 404);

    // The secret is never shown again: not in the list, not by id.
    const list = await call(b, 'GET', '/admin/keys');
    assert.equal(list.status, 200);
    assert.ok(!list.text.includes(secret));
    const listed = (list.json['data'] as Record<string, unknown>[]).map((k) => [k['name'], k['source']]);
    assert.deepEqual(listed, [
      ['from-config', 'config'],
      ['app-one', 'api'],
    ]);
    const read = await call(b, 'GET', `/admin/keys/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.json['name'], 'app-one');
    assert.equal(read.json['key'], undefined);
    assert.ok(!read.text.includes(secret));
    assert.ok(!a.rawLogs().includes(secret) && !b.rawLogs().includes(secret), 'a secret reached a log line');

    // A limit given while it runs applies to the next request.
    const patched = await call(b, 'PATCH', `/admin/keys/${id}`, { limits: { rpm: 1 }, models: null });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.json['limits'], { rpm: 1 });
    assert.equal(patched.json['models'], null);
    assert.equal(await chat(b, secret, 'other'), 200);
    assert.equal(await chat(b, secret, 'other'), 429);

    const revoked = await call(a, 'DELETE', `/admin/keys/${id}`);
    assert.equal(revoked.status, 200);
    assert.notEqual(revoked.json['revoked_at'], null);
    assert.equal(await chat(a, secret), 401);
    await eventually(async () => (await chat(b, secret)) === 401, 'the revocation on replica b');
    // Revoked keys are kept for the record, and listed on request.
    assert.equal((await call(a, 'GET', `/admin/keys/${id}`)).json['name'], 'app-one');
    const all = await call(a, 'GET', '/admin/keys?include_revoked=true');
    assert.equal((all.json['data'] as unknown[]).length, 2);
    assert.equal(((await call(a, 'GET', '/admin/keys')).json['data'] as unknown[]).length, 1);
    // Revoked keys cannot be changed.
    assert.equal(
      (await call(a, 'PATCH', `/admin/keys/${id}`, { priority: 'batch' })).json['error'] !== undefined,
      true,
    );
  });

  test("a team's budget, made and raised through the API, holds for its keys on both replicas", async () => {
    const team = await call(a, 'POST', '/admin/teams', {
      name: 'beta',
      budget: { usd: 0.004, period: 'total' },
    });
    assert.equal(team.status, 201, team.text);
    assert.deepEqual(team.json['budget'], { usd: 0.004, period: 'total' });
    const key = await call(a, 'POST', '/admin/keys', {
      name: 'beta-app',
      team: 'beta',
      key: 'sk-beta-app-secret-0001',
    });
    assert.equal(key.status, 201, key.text);
    // A secret the admin chose is not echoed back, and its hint shows only its last four characters.
    assert.equal(key.json['key'], undefined);
    assert.equal(key.json['key_hint'], 'sk-…0001');
    // The worst case of one request (5 output tokens) is $0.005: more than the team's $0.004.
    assert.equal(await chat(a, 'sk-beta-app-secret-0001'), 429);
    await eventually(async () => (await chat(b, 'sk-beta-app-secret-0001')) === 429, 'the team on replica b');

    const raised = await call(b, 'PATCH', '/admin/teams/beta', { budget: { usd: 1, period: 'total' } });
    assert.equal(raised.status, 200, raised.text);
    assert.equal(await chat(b, 'sk-beta-app-secret-0001'), 200);
    await eventually(
      async () => (await chat(a, 'sk-beta-app-secret-0001')) === 200,
      'the raise on replica a',
    );

    // Where the budget stands, for the budget-burn alert: the shared figure, read at scrape time.
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /sluice_budget_limit_usd\{scope="team",name="beta",period="total"\} 1\n/);
    const spent = /sluice_budget_spent_usd\{scope="team",name="beta",period="total"\} ([\d.e-]+)/.exec(
      metrics,
    );
    assert.ok(spent !== null && Number(spent[1]) > 0, metrics.slice(0, 2000));

    // A team with a live key cannot be deleted; once the key is gone it can.
    const inUse = await call(a, 'DELETE', '/admin/teams/beta');
    assert.equal(inUse.status, 409);
    assert.equal(errorOf(inUse).code, 'team_in_use');
    assert.equal((await call(a, 'DELETE', `/admin/keys/${key.json['id'] as string}`)).status, 200);
    const deleted = await call(a, 'DELETE', '/admin/teams/beta');
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await call(b, 'GET', '/admin/teams/beta')).status, 404);
    const teams = await call(b, 'GET', '/admin/teams');
    assert.deepEqual(
      (teams.json['data'] as Record<string, unknown>[]).map((t) => [t['name'], t['source']]),
      [['config-team', 'config']],
    );
  });

  test('the request log answers by key and status, page by page', async () => {
    const key = await call(a, 'POST', '/admin/keys', { name: 'logged' });
    const secret = key.json['key'] as string;
    for (let i = 0; i < 3; i++) assert.equal(await chat(a, secret), 200);
    let rows: Record<string, unknown>[] = [];
    await eventually(async () => {
      rows = (await call(a, 'GET', '/admin/requests?key=logged&status=200')).json['data'] as typeof rows;
      return rows.length === 3;
    }, 'three rows in the request log');
    assert.equal(rows[0]?.['key'], 'logged');
    assert.equal(rows[0]?.['model'], 'm');
    assert.equal(rows[0]?.['status'], 200);
    assert.equal(typeof rows[0]?.['request_id'], 'string');
    const first = await call(a, 'GET', '/admin/requests?key=logged&limit=2');
    assert.equal((first.json['data'] as unknown[]).length, 2);
    const cursor = first.json['next_cursor'] as string;
    assert.equal(typeof cursor, 'string');
    const second = await call(
      a,
      'GET',
      `/admin/requests?key=logged&limit=2&cursor=${encodeURIComponent(cursor)}`,
    );
    assert.equal((second.json['data'] as unknown[]).length, 1);
    assert.equal(second.json['next_cursor'], null);
    for (const [query, param] of [
      ['status=abc', 'status'],
      ['limit=0', 'limit'],
      ['from=yesterday', 'from'],
      ['cursor=garbage', 'cursor'],
    ] as const) {
      const bad = await call(a, 'GET', `/admin/requests?${query}`);
      assert.equal(bad.status, 400, query);
      assert.equal(errorOf(bad).param, param, query);
    }
  });

  test('refusals: each a 4xx in the OpenAI error shape that names the problem', async () => {
    const cases: [string, string, unknown, number, string, string | null, Record<string, string>?][] = [
      ['POST', '/admin/keys', '{"name": ', 400, 'invalid_json', null],
      ['POST', '/admin/keys', [], 400, 'invalid_request', null],
      ['POST', '/admin/keys', { name: 5 }, 400, 'invalid_request', 'name'],
      ['POST', '/admin/keys', { name: 'x', limits: { rpm: -1 } }, 400, 'invalid_request', 'limits.rpm'],
      ['POST', '/admin/keys', { name: 'x', budget: { usd: 'lots' } }, 400, 'invalid_request', 'budget.usd'],
      ['POST', '/admin/keys', { name: 'x', models: ['nope'] }, 400, 'invalid_request', 'models[0]'],
      ['POST', '/admin/keys', { name: 'x', team: 'no-such-team' }, 400, 'invalid_request', 'team'],
      ['POST', '/admin/keys', { name: 'x', key: 'short' }, 400, 'invalid_request', 'key'],
      ['POST', '/admin/keys', { name: 'x', admin: true }, 400, 'invalid_request', null],
      ['POST', '/admin/keys', { name: 'x', priority: 'urgent' }, 400, 'invalid_request', 'priority'],
      ['POST', '/admin/keys', { name: 'from-config' }, 409, 'name_taken', null],
      ['POST', '/admin/keys', { name: 'x', key: configKey }, 409, 'key_exists', null],
      [
        'POST',
        '/admin/keys',
        { name: 'x' },
        415,
        'unsupported_media_type',
        null,
        { 'content-type': 'text/plain' },
      ],
      ['POST', '/admin/keys', { name: 'x'.repeat(70_000) }, 413, 'request_too_large', null],
      ['PUT', '/admin/keys', { name: 'x' }, 405, 'method_not_allowed', null],
      ['GET', '/admin/keys/key_nope', undefined, 404, 'not_found', null],
      ['PATCH', '/admin/keys/key_nope', { priority: 'batch' }, 404, 'not_found', null],
      ['DELETE', '/admin/keys/key_nope', undefined, 404, 'not_found', null],
      ['GET', '/admin/keys/%E0%A4%A', undefined, 400, 'invalid_request', null],
      ['GET', '/admin/keys/a/b', undefined, 404, 'not_found', null],
      ['GET', '/admin/nothing', undefined, 404, 'not_found', null],
      ['POST', '/admin/teams', { name: 'config-team' }, 409, 'team_exists', null],
      ['POST', '/admin/teams', { name: '' }, 400, 'invalid_request', 'name'],
      ['POST', '/admin/teams', { name: 'nul\u0000team' }, 400, 'invalid_request', 'name'],
      ['POST', '/admin/keys', { name: 'n'.repeat(129) }, 400, 'invalid_request', 'name'],
      ['POST', '/admin/keys', { name: 'x', team: 'tab\tteam' }, 400, 'invalid_request', 'team'],
      ['PATCH', '/admin/teams/config-team', { budget: null }, 409, 'read_only', null],
      ['DELETE', '/admin/teams/config-team', undefined, 409, 'read_only', null],
      ['PATCH', '/admin/teams/nope', { budget: null }, 404, 'not_found', null],
      ['GET', '/admin/spend?group_by=colour', undefined, 400, 'invalid_parameter', 'group_by'],
      ['POST', '/admin/spend', {}, 405, 'method_not_allowed', null],
    ];
    for (const [method, path, body, status, code, param, headers] of cases) {
      const answer = await call(a, method, path, body, headers);
      const what = `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}`;
      assert.equal(answer.status, status, `${what}: ${answer.text.slice(0, 300)}`);
      const error = errorOf(answer);
      assert.equal(error.code, code, what);
      assert.equal(error.param, param, what);
      assert.equal(typeof error.message, 'string', what);
    }

    // The config's keys are read-only; a key's name and secret cannot change.
    const configId = ((await call(a, 'GET', '/admin/keys')).json['data'] as Record<string, unknown>[]).find(
      (k) => k['name'] === 'from-config',
    )?.['id'] as string;
    assert.equal((await call(a, 'GET', `/admin/keys/${configId}`)).json['team'], 'config-team');
    assert.equal(
      errorOf(await call(a, 'PATCH', `/admin/keys/${configId}`, { priority: 'batch' })).code,
      'read_only',
    );
    assert.equal(errorOf(await call(a, 'DELETE', `/admin/keys/${configId}`)).code, 'read_only');
    const made = await call(a, 'POST', '/admin/keys', { name: 'fixed-name' });
    const id = made.json['id'] as string;
    for (const field of ['name', 'key']) {
      const answer = await call(a, 'PATCH', `/admin/keys/${id}`, { [field]: 'sk-new-value-0123456' });
      assert.equal(answer.status, 400);
      assert.equal(errorOf(answer).param, field);
    }

    // Without the admin key, nothing: not even whether a key exists.
    for (const token of [undefined, 'sk-wrong-admin-key', configKey]) {
      const response = await fetch(`${a.url}/admin/keys`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'unauthorized');
    }
    // The gateway still serves after all of it.
    assert.equal(await chat(a, configKey), 200);
  });

  test('a thousand mutated admin requests: each a 2xx or a 4xx in the error shape; the gateway stays up', async () => {
    const random = rng(0xad317);
    const bodies: unknown[] = [
      {
        name: 'fuzz',
        team: 'config-team',
        models: ['m'],
        limits: { rpm: 5 },
        budget: { usd: 1, period: 'daily' },
      },
      { name: 'fuzz', end_user_budget: { usd: 1 }, priority: 'batch' },
      { limits: { rpm: 1, tpm: 10, concurrency: 1 }, budget: null, models: null },
    ];
    const fields = [
      'name',
      'key',
      'team',
      'models',
      'limits',
      'budget',
      'priority',
      '__proto__',
      'rpm',
      'usd',
    ];
    const made = await call(a, 'POST', '/admin/keys', { name: 'fuzz-target' });
    const paths = [
      '/admin/keys',
      `/admin/keys/${made.json['id'] as string}`,
      '/admin/keys/key_nope',
      '/admin/teams',
      '/admin/teams/config-team',
      '/admin/teams/fuzz%00team',
      '/admin/requests?limit=-1&cursor=%ff',
      '/admin/spend?from=0&to=x',
    ];
    for (let i = 0; i < 1_000; i++) {
      const method = pick(random, ['POST', 'PATCH', 'GET', 'DELETE', 'PUT']);
      const path = pick(random, paths);
      const body =
        method === 'GET' || method === 'DELETE' ? undefined : mutate(random, pick(random, bodies), fields);
      const answer = await call(
        a,
        method,
        path,
        body === undefined ? undefined : (JSON.stringify(body) ?? 'null'),
      );
      const what = `#${i} ${method} ${path} ${JSON.stringify(body)?.slice(0, 200)}`;
      assert.ok(answer.status < 500, `${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
      if (answer.status >= 400) assert.equal(typeof errorOf(answer).code, 'string', what);
    }
    assert.equal(await chat(a, configKey), 200);
  });

  test('with the admin API on, a request without a key is refused even when no config key exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-admin-empty-'));
    const gw = await startGateway({
      server: { admin_key: adminKey },
      database: { url: 'embedded', path: dir },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
    });
    try {
      assert.equal(await chat(gw, undefined), 401);
      const made = await call(gw, 'POST', '/admin/keys', { name: 'first' });
      assert.equal(await chat(gw, made.json['key'] as string), 200);
      await call(gw, 'DELETE', `/admin/keys/${made.json['id'] as string}`);
      // Revoking the last key does not open the gateway.
      assert.equal(await chat(gw, undefined), 401);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without a database the key and team endpoints say so', async () => {
    const gw = await startGateway({
      server: { admin_key: adminKey },
      database: { url: 'none' },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
    });
    try {
      for (const path of ['/admin/keys', '/admin/teams', '/admin/spend', '/admin/requests']) {
        const answer = await call(gw, 'GET', path);
        assert.equal(answer.status, 404, path);
        assert.match(errorOf(answer).message, /database/, path);
      }
    } finally {
      await gw.close();
    }
  });
});

describe('admin API on the Redis backend', { skip: skipWithoutRedis }, () => {
  test('a limit and a budget given through the API hold on two replicas sharing Redis', async () => {
    const sim = await startSimulator({ port: 0, outputTokens: 5 });
    const data = mkdtempSync(join(tmpdir(), 'sluice-admin-redis-'));
    const prefix = `{sluice-admin-test-${randomUUID().slice(0, 8)}}:`;
    const config = {
      server: { admin_key: adminKey },
      database: { url: 'embedded', path: data, sync_interval_ms: 100 },
      state: { backend: 'redis', redis_url: redisUrl, key_prefix: prefix },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price }],
    };
    const a = await startGateway(config);
    const b = await startGateway(config);
    try {
      const limited = await call(a, 'POST', '/admin/keys', { name: 'limited', limits: { rpm: 3 } });
      assert.equal(limited.status, 201, limited.text);
      const secret = limited.json['key'] as string;
      await eventually(async () => (await chat(b, secret)) === 200, 'the key on replica b');
      // rpm 3 is shared through Redis: one request taken on b, two more anywhere, then 429 on both.
      assert.equal(await chat(a, secret), 200);
      assert.equal(await chat(b, secret), 200);
      assert.equal(await chat(a, secret), 429);
      assert.equal(await chat(b, secret), 429);

      // Two requests' worth ($0.005 each at most): the third is refused, wherever it arrives.
      const budgeted = await call(b, 'POST', '/admin/keys', {
        name: 'budgeted',
        budget: { usd: 0.01, period: 'total' },
      });
      const money = budgeted.json['key'] as string;
      await eventually(async () => (await chat(a, money)) === 200, 'the budgeted key on replica a');
      assert.equal(await chat(b, money), 200);
      const third = await Promise.all([chat(a, money), chat(b, money)]);
      assert.deepEqual(third, [429, 429]);
    } finally {
      await a.close();
      await b.close();
      await sim.close();
      rmSync(data, { recursive: true, force: true });
      await deleteKeysWithPrefix(prefix);
    }
  });
});
