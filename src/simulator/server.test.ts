import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import OpenAI from 'openai';
import { startSimulator } from './server.js';
import { postJson, simulator, user } from './test-helpers.js';

test('GET /v1/models lists the configured models and retrieves one', async (t) => {
  const { client } = await simulator(t, { models: ['alpha', 'beta'] });
  const models = [];
  for await (const model of client.models.list()) models.push(model);
  assert.deepEqual(
    models.map((m) => m.id),
    ['alpha', 'beta'],
  );
  assert.ok(models.every((m) => m.object === 'model' && m.owned_by === 'sluice-simulator' && m.created > 0));
  const beta = await client.models.retrieve('beta');
  assert.equal(beta.id, 'beta');
  await assert.rejects(client.models.retrieve('gamma'), { status: 404, code: 'model_not_found' });
});

test('default models, /healthz, unknown paths and wrong methods', async (t) => {
  const { sim } = await simulator(t);
  const models = (await (await fetch(`${sim.url}/v1/models`)).json()) as { data: { id: string }[] };
  assert.deepEqual(
    models.data.map((m) => m.id),
    ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'text-embedding-3-large'],
  );
  const health = await fetch(`${sim.url}/healthz`);
  assert.equal(health.status, 200);
  await health.arrayBuffer();

  const missing = await fetch(`${sim.url}/v1/nothing`, { method: 'POST' });
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), {
    error: {
      message: 'Invalid URL (POST /v1/nothing)',
      type: 'invalid_request_error',
      param: null,
      code: null,
    },
  });
  const wrongMethod = await fetch(`${sim.url}/v1/chat/completions`);
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'POST');
  assert.equal(
    ((await wrongMethod.json()) as { error: { type: string } }).error.type,
    'invalid_request_error',
  );
  const wrongModelsMethod = await fetch(`${sim.url}/v1/models`, { method: 'DELETE' });
  assert.equal(wrongModelsMethod.status, 405);
  await wrongModelsMethod.arrayBuffer();
});

test('bodies over 32 MB get 413', async (t) => {
  const { sim } = await simulator(t);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(33 * 1024 * 1024) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.write('{"model":');
  });
  assert.equal(status, 413);
});

test('--api-key requires the bearer key and never echoes it', async (t) => {
  const key = 'sk-simulator-secret-0123456789';
  const { sim } = await simulator(t, { apiKey: key });
  const good = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: key, maxRetries: 0 });
  const completion = await good.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
  assert.equal(completion.object, 'chat.completion');

  const wrongKey = 'sk-wrong-key-abcdefghijklmnop';
  const bad = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: wrongKey, maxRetries: 0 });
  const error = await bad.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') }).then(
    () => assert.fail('expected a 401'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof OpenAI.AuthenticationError);
  assert.equal(error.status, 401);
  assert.equal(error.code, 'invalid_api_key');
  assert.equal(error.type, 'invalid_request_error');
  assert.match(error.message, /Incorrect API key provided/);
  assert.ok(!error.message.includes(wrongKey));
  await assert.rejects(bad.models.list(), { status: 401 });

  const none = await postJson(sim, '/v1/chat/completions', { model: 'm', messages: [] });
  assert.equal(none.status, 401);
  // Health checks need no key.
  const health = await fetch(`${sim.url}/healthz`);
  assert.equal(health.status, 200);
  await health.arrayBuffer();
});

test('injected 500s and 429s reach the SDK as APIErrors; setOptions switches them at run time', async (t) => {
  const { sim, client } = await simulator(t, { errorRate: 1 });
  const ask = (): Promise<unknown> =>
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('hi') });
  await assert.rejects(ask(), (e: unknown) => {
    assert.ok(e instanceof OpenAI.InternalServerError);
    assert.equal(e.status, 500);
    assert.equal(e.type, 'server_error');
    assert.match(e.message, /The server had an error while processing your request/);
    return true;
  });
  await assert.rejects(client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }), {
    status: 500,
  });

  sim.setOptions({ errorRate: 0, rateLimitRate: 1, retryAfterSeconds: 7 });
  await assert.rejects(ask(), (e: unknown) => {
    assert.ok(e instanceof OpenAI.RateLimitError);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.equal(e.type, 'requests');
    assert.equal(e.headers?.get('retry-after'), '7');
    assert.equal(e.headers?.get('x-ratelimit-remaining-requests'), '0');
    assert.equal(e.headers?.get('x-ratelimit-reset-requests'), '7s');
    assert.match(e.headers?.get('x-ratelimit-limit-requests') ?? '', /^\d+$/);
    return true;
  });

  sim.setOptions({ rateLimitRate: 0 });
  await ask();
  assert.deepEqual(sim.stats.byStatus, { '200': 1, '429': 1, '500': 2 });
  assert.throws(() => sim.setOptions({ errorRate: -1 }), /errorRate/);
  assert.throws(() => sim.setOptions({ port: 1 }), /port cannot change/);
});

test('fault draws are reproducible for a seed', async (t) => {
  const outcomes = async (): Promise<number[]> => {
    const { sim } = await simulator(t, { errorRate: 0.5, seed: 11 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { status } = await postJson(sim, '/v1/chat/completions', {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
      });
      statuses.push(status);
    }
    return statuses;
  };
  const first = await outcomes();
  assert.deepEqual(await outcomes(), first);
  assert.ok(first.includes(500) && first.includes(200), first.join(','));
});

test('latency comes before an injected error', async (t) => {
  const { sim } = await simulator(t, { latencyMs: 150, errorRate: 1 });
  const started = performance.now();
  const { status } = await postJson(sim, '/v1/chat/completions', {
    model: 'm',
    messages: [{ role: 'user', content: 'x' }],
  });
  assert.equal(status, 500);
  assert.ok(performance.now() - started >= 145);
});

test('recordRequests keeps the last request; resetStats clears the counters', async (t) => {
  const { sim, client } = await simulator(t, { recordRequests: true });
  await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('remember me'),
    max_tokens: 5,
  });
  const last = sim.stats.lastRequest;
  assert.equal(last?.method, 'POST');
  assert.equal(last?.url, '/v1/chat/completions');
  assert.equal(last?.headers['authorization'], 'Bearer x');
  assert.deepEqual(last?.body, { model: 'gpt-4o-mini', messages: user('remember me'), max_tokens: 5 });
  assert.equal(sim.stats.requests, 1);
  assert.equal(sim.stats.completed, 1);
  sim.resetStats();
  assert.deepEqual(sim.stats, {
    requests: 0,
    completed: 0,
    aborted: 0,
    streamsCut: 0,
    inFlight: 0,
    byStatus: {},
  });

  const { sim: quiet } = await simulator(t);
  await postJson(quiet, '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(quiet.stats.lastRequest, undefined);
});

test('close() ends open streams instead of waiting for them', async () => {
  const sim = await startSimulator({ port: 0, tokensPerSecond: 1, outputTokens: 100 });
  const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'm', messages: user('slow'), stream: true });
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  const started = performance.now();
  await sim.close();
  assert.ok(performance.now() - started < 1000);
  // The buffered chunks may still arrive, but the stream must fail rather than end cleanly.
  await assert.rejects(async () => {
    for (;;) if ((await iterator.next()).done) return;
  });
  assert.equal(sim.stats.inFlight, 0);
  await sim.close(); // idempotent
});
