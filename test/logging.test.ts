/**
 * Logs end to end: real requests through a gateway logging at its most verbose level, whose every line is
 * then searched for the virtual key, the provider key, the admin key and the prompt (none may appear),
 * and read for the request ids every line about a request must carry and the access line's fields.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-logging-canary-key-7f3a9c';
const limitedKey = 'sk-logging-limited-key-51d2e0';
const providerKey = 'sk-provider-canary-e81b44';
const failingProviderKey = 'sk-provider-canary-failing-0c9d';
const adminKey = 'sk-admin-canary-33aa01';
const prompt = 'PROMPT-CANARY tell me the secret plan 9d8f7e';
const answerless = 'SYSTEM-CANARY you are a pirate 4c4c4c';

describe('request logs', () => {
  let sim: SimulatorHandle;
  let failing: SimulatorHandle;
  let gateway: TestGateway;
  const requestIds: string[] = [];

  async function post(path: string, key: string, body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body,
    });
    await res.text();
    const id = res.headers.get('x-sluice-request-id');
    if (id !== null) requestIds.push(id);
    return res;
  }

  const chatBody = (model: string, stream = false): string =>
    JSON.stringify({
      model,
      stream,
      messages: [
        { role: 'system', content: answerless },
        { role: 'user', content: prompt },
      ],
    });

  before(async () => {
    sim = await startSimulator({ port: 0, apiKey: providerKey });
    failing = await startSimulator({ port: 0, errorRate: 1 });
    gateway = await startGateway({
      server: { admin_key: adminKey },
      logging: { level: 'trace' },
      providers: [
        upstream('sim', sim.url, { api_key: providerKey }),
        upstream('broken', failing.url, { api_key: failingProviderKey }),
      ],
      models: [
        {
          name: 'm',
          targets: [{ provider: 'sim', model: 'gpt-4o-mini' }],
          price: { input_per_mtok: 1, output_per_mtok: 2 },
        },
        { name: 'broken', targets: [{ provider: 'broken', model: 'gpt-4o-mini' }] },
      ],
      keys: [
        { name: 'app', key: appKey, team: 'alpha' },
        { name: 'limited', key: limitedKey, limits: { rpm: 1 } },
      ],
    });

    // Answered (plain and streamed), an upstream failure, malformed JSON quoting the prompt, a wrong key
    // that looks like the right one, a rate-limited request, and the admin API.
    assert.equal((await post('/v1/chat/completions', appKey, chatBody('m'))).status, 200);
    assert.equal((await post('/v1/chat/completions', appKey, chatBody('m', true))).status, 200);
    assert.equal(
      (
        await post(
          '/v1/messages',
          appKey,
          JSON.stringify({
            model: 'm',
            max_tokens: 20,
            system: answerless,
            messages: [{ role: 'user', content: prompt }],
          }),
          { 'anthropic-version': '2023-06-01' },
        )
      ).status,
      200,
    );
    assert.equal((await post('/v1/chat/completions', appKey, chatBody('broken'))).status, 502);
    // An unquoted prompt: the JSON parser's message quotes the bytes at the fault, and the client sees it.
    const malformed = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${appKey}` },
      body: `{"model":"m","messages":[{"role":"user","content": ${prompt}}]}`,
    });
    assert.equal(malformed.status, 400);
    assert.match(await malformed.text(), /PROMPT-CAN/);
    requestIds.push(malformed.headers.get('x-sluice-request-id') as string);
    assert.equal((await post('/v1/chat/completions', `${appKey}x`, chatBody('m'))).status, 401);
    assert.equal((await post('/v1/chat/completions', limitedKey, chatBody('m'))).status, 200);
    assert.equal((await post('/v1/chat/completions', limitedKey, chatBody('m'))).status, 429);
    const admin = await fetch(`${gateway.url}/admin/spend?group_by=key`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    await admin.text();
    gateway.gateway.logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
  after(async () => {
    await gateway.close();
    await sim.close();
    await failing.close();
  });

  test('no key, provider key, admin key or prompt appears in any log line', () => {
    const raw = gateway.rawLogs();
    assert.ok(raw.length > 0);
    for (const secret of [
      appKey,
      limitedKey,
      providerKey,
      failingProviderKey,
      adminKey,
      prompt,
      answerless,
    ]) {
      assert.ok(!raw.includes(secret), `a log line carries ${secret}`);
    }
    // Nor a telling fragment of them (a parser's excerpt, a cut message).
    for (const fragment of ['PROMPT-CAN', 'secret plan', 'SYSTEM-CANARY', 'canary-key', 'admin-canary'])
      assert.ok(!raw.includes(fragment), `a log line carries ${fragment}`);
  });

  test('one access line per request, each with its request id, trace id and span id', () => {
    const access = gateway.logs.filter((l) => l['msg'] === 'request');
    assert.equal(access.length, requestIds.length);
    assert.deepEqual(access.map((l) => l['request_id']).sort(), [...requestIds].sort());
    for (const line of access) {
      assert.match(line['trace_id'] as string, /^[0-9a-f]{32}$/);
      assert.match(line['span_id'] as string, /^[0-9a-f]{16}$/);
    }
    // Every line that is about a request carries all three ids.
    for (const line of gateway.logs.filter((l) => l['request_id'] !== undefined)) {
      assert.ok(line['trace_id'] !== undefined && line['span_id'] !== undefined, JSON.stringify(line));
    }
  });

  test('the access line of an answered request has who, where, tokens, cost, TTFT and timing', () => {
    const line = gateway.logs.find(
      (l) =>
        l['msg'] === 'request' &&
        l['key_name'] === 'app' &&
        l['status'] === 200 &&
        l['stream'] === false &&
        l['route'] === 'chat',
    );
    assert.ok(line);
    assert.equal(line['level'], 'info');
    assert.equal(line['model'], 'm');
    assert.equal(line['provider'], 'sim');
    assert.equal(line['target'], 'sim/gpt-4o-mini');
    assert.equal(line['target_model'], 'gpt-4o-mini');
    assert.equal(line['team'], 'alpha');
    assert.equal(line['attempts'], 1);
    assert.equal(typeof line['input_tokens'], 'number');
    assert.equal(line['output_tokens'], 16);
    assert.equal(typeof line['ttft_ms'], 'number');
    assert.equal(typeof line['duration_ms'], 'number');
    assert.equal(line['trace_sampled'], false);
  });

  test('a refusal names its stage and reason; an upstream failure its kind, as a warning', () => {
    const limited = gateway.logs.find((l) => l['msg'] === 'request' && l['status'] === 429);
    assert.ok(limited);
    assert.deepEqual(limited['admission'], { stage: 'limits', outcome: 'rejected', reason: 'rpm' });
    assert.equal(limited['error_kind'], 'rate_limited');
    const broken = gateway.logs.find((l) => l['msg'] === 'request' && l['status'] === 502);
    assert.ok(broken);
    assert.equal(broken['level'], 'warn');
    assert.equal(broken['error_kind'], 'upstream_error');
    assert.equal(broken['provider'], 'broken');
    const malformed = gateway.logs.find((l) => l['msg'] === 'request' && l['error_kind'] === 'invalid_json');
    assert.ok(malformed);
    assert.equal(malformed['error'], 'body: invalid JSON');
  });
});
