/**
 * The data path end to end: the official openai SDK → a real Sluice on loopback → the simulator as
 * upstream. Stream, non-stream, embeddings, error mapping, pass-through, auth and abort propagation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, waitFor, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-sluice-app-key-0001';
const limitedKey = 'sk-sluice-limited-0002';
const providerKey = 'sk-provider-secret-123';

describe('openai SDK through Sluice to the simulator', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    sim = await startSimulator({ port: 0, apiKey: providerKey, outputTokens: 12, recordRequests: true });
    gateway = await startGateway({
      providers: [upstream('sim', sim.url)],
      models: [
        { name: 'chat-model', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] },
        { name: 'other-model', targets: [{ provider: 'sim', model: 'gpt-4o' }] },
        { name: 'embed-model', targets: [{ provider: 'sim', model: 'text-embedding-3-small' }] },
      ],
      keys: [
        { name: 'app', key: appKey, team: 'alpha' },
        { name: 'limited', key: limitedKey, models: ['other-model'] },
      ],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('non-stream chat completion, with the gateway headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'chat-model', messages: [{ role: 'user', content: 'Hello there' }] })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.ok((data.choices[0]?.message.content ?? '').length > 0);
    assert.equal(data.usage?.completion_tokens, 12);
    assert.equal(response.headers.get('x-sluice-model'), 'gpt-4o-mini');
    assert.equal(response.headers.get('x-sluice-provider'), 'sim');
    assert.equal(response.headers.get('x-sluice-attempts'), '1');
    assert.match(response.headers.get('x-sluice-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('streaming chat with include_usage arrives chunk by chunk and ends with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks >= 12, `expected one chunk per token, got ${chunks}`);
    assert.ok(text.length > 0);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 12);
  });

  test('fields the gateway does not know pass through untouched; the upstream sees only the provider key', async () => {
    await client.chat.completions.create({
      model: 'chat-model',
      messages: [{ role: 'user', content: 'x' }],
      // @ts-expect-error: a vendor extension the SDK does not type
      vendor_extension: { nested: [1, 'two', { three: true }] },
      temperature: 0.3,
      user: 'end-user-7',
    });
    const recorded = sim.stats.lastRequest;
    assert.ok(recorded !== undefined);
    const body = recorded.body as Record<string, unknown>;
    assert.deepEqual(body['vendor_extension'], { nested: [1, 'two', { three: true }] });
    assert.equal(body['temperature'], 0.3);
    assert.equal(body['user'], 'end-user-7');
    assert.equal(body['model'], 'gpt-4o-mini', 'the target model name goes upstream');
    assert.equal(recorded.headers.authorization, `Bearer ${providerKey}`);
    assert.ok(
      !JSON.stringify(recorded.headers).includes(appKey),
      'the virtual key never reaches the upstream',
    );
  });

  test('embeddings, float and base64 (the SDK default)', async () => {
    const asBase64 = await client.embeddings.create({ model: 'embed-model', input: ['one', 'two'] });
    assert.equal(asBase64.data.length, 2);
    assert.equal(asBase64.data[0]?.embedding.length, 1536);
    const asFloat = await client.embeddings.create({
      model: 'embed-model',
      input: 'one',
      encoding_format: 'float',
      dimensions: 64,
    });
    assert.equal(asFloat.data[0]?.embedding.length, 64);
    const norm = Math.sqrt(asFloat.data[0]!.embedding.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3);
  });

  test('GET /v1/models lists only what the key may use', async () => {
    const all = await client.models.list();
    assert.deepEqual(all.data.map((m) => m.id).sort(), ['chat-model', 'embed-model', 'other-model']);
    const limited = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: limitedKey, maxRetries: 0 });
    const visible = await limited.models.list();
    assert.deepEqual(
      visible.data.map((m) => m.id),
      ['other-model'],
    );
    const one = await limited.models.retrieve('other-model');
    assert.equal(one.id, 'other-model');
    await assert.rejects(
      limited.models.retrieve('chat-model'),
      (e: unknown) => e instanceof APIError && e.status === 404,
    );
  });

  test('unknown or missing keys get 401; a model outside the allow-list is 404 model_not_found', async () => {
    const stranger = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-not-a-key-000', maxRetries: 0 });
    await assert.rejects(
      stranger.chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof APIError && e.status === 401 && e.code === 'invalid_api_key',
    );
    const limited = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: limitedKey, maxRetries: 0 });
    await assert.rejects(
      limited.chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof APIError && e.status === 404 && e.code === 'model_not_found',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) =>
        e instanceof APIError && e.status === 404 && e.code === 'model_not_found' && e.param === 'model',
    );
  });

  test('a bad request names the field', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'chat-model', messages: [] }),
      (e: unknown) => e instanceof APIError && e.status === 400 && e.param === 'messages',
    );
    await assert.rejects(
      client.chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'x' }],
        max_tokens: 'lots' as unknown as number, // deliberately the wrong type
      }),
      (e: unknown) => e instanceof APIError && e.status === 400 && e.param === 'max_tokens',
    );
  });

  test('upstream 429 stays 429 with its Retry-After; upstream 500 becomes 502', async () => {
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 7 });
    try {
      await assert.rejects(
        client.chat.completions.create({ model: 'chat-model', messages: [{ role: 'user', content: 'x' }] }),
        (e: unknown) => e instanceof APIError && e.status === 429 && e.headers?.get('retry-after') === '7',
      );
      sim.setOptions({ rateLimitRate: 0, errorRate: 1 });
      await assert.rejects(
        client.chat.completions.create({
          model: 'chat-model',
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
        }),
        (e: unknown) => e instanceof APIError && e.status === 502 && e.type === 'api_error',
      );
    } finally {
      sim.setOptions({ rateLimitRate: 0, errorRate: 0 });
    }
  });

  test('a stream cut by the upstream ends with an error the SDK raises, never a clean finish', async () => {
    sim.setOptions({ streamCutRate: 1, outputTokens: 40, tokensPerSecond: 400 });
    try {
      const stream = await client.chat.completions.create({
        model: 'chat-model',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      let finished = false;
      await assert.rejects(async () => {
        for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) finished = true;
      });
      assert.equal(finished, false);
    } finally {
      sim.setOptions({ streamCutRate: 0, outputTokens: 12, tokensPerSecond: 0 });
    }
  });

  for (const stream of [true, false]) {
    test(`a client that leaves aborts the upstream request at once (stream: ${stream})`, async () => {
      sim.setOptions({ tokensPerSecond: 20, outputTokens: 400 });
      sim.resetStats();
      try {
        const controller = new AbortController();
        const body = { model: 'chat-model', messages: [{ role: 'user' as const, content: 'long' }] };
        let settled: Promise<unknown>;
        if (stream) {
          const s = await client.chat.completions.create(
            { ...body, stream: true },
            { signal: controller.signal },
          );
          const iterator = s[Symbol.asyncIterator]();
          await iterator.next();
          settled = (async () => {
            for (;;) if ((await iterator.next()).done === true) return;
          })();
        } else {
          settled = client.chat.completions.create(body, { signal: controller.signal });
        }
        await waitFor(() => sim.stats.inFlight === 1, 2_000, 'the upstream call');
        const abortedAt = Date.now();
        controller.abort();
        await settled.catch(() => undefined);
        await waitFor(() => sim.stats.aborted === 1 && sim.stats.inFlight === 0, 2_000, 'the upstream abort');
        assert.ok(Date.now() - abortedAt < 1_000, 'the upstream saw the abort within a second');
        await waitFor(() => gateway.gateway.inFlight() === 0, 2_000, 'the gateway to finish the request');
      } finally {
        sim.setOptions({ tokensPerSecond: 0, outputTokens: 12 });
      }
    });
  }

  test('metrics count requests by route, model, provider, target, team and status, with TTFT and in-flight', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(
      text,
      /sluice_requests_total\{route="chat",model="chat-model",provider="sim",target="sim\/gpt-4o-mini",team="alpha",status="200"\} \d+/,
    );
    assert.match(
      text,
      /sluice_requests_total\{route="chat",model="chat-model",provider="sim",target="sim\/gpt-4o-mini",team="alpha",status="429"\} 1/,
    );
    assert.match(
      text,
      /sluice_time_to_first_token_seconds_bucket\{le="[^"]+",route="chat",model="chat-model",provider="sim",target="sim\/gpt-4o-mini"\} \d+/,
    );
    assert.match(
      text,
      /sluice_request_duration_seconds_count\{route="embeddings",model="embed-model",provider="sim",target="sim\/text-embedding-3-small",team="alpha"\} 2/,
    );
    assert.match(text, /sluice_requests_in_flight\{route="chat"\} 0/);
  });

  test('no secret appears in any log line', () => {
    const logs = gateway.rawLogs();
    assert.ok(logs.length > 0);
    for (const secret of [appKey, limitedKey, providerKey, 'sk-not-a-key-000'])
      assert.ok(!logs.includes(secret), `log leaks ${secret}`);
    const access = gateway.logs.filter((l) => l['msg'] === 'request');
    assert.ok(
      access.some((l) => l['key_name'] === 'app' && l['team'] === 'alpha' && l['provider'] === 'sim'),
    );
  });
});

describe('backpressure', () => {
  test('a slow reader gets a long stream whole: the upstream is paused, not buffered or dropped', async () => {
    const sim = await startSimulator({ port: 0, outputTokens: 20_000 });
    const gateway = await startGateway({
      logging: { level: 'warn' },
      providers: [upstream('sim', sim.url, { api_key: 'x' })],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'm' }] }],
    });
    try {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      });
      const reader = res.body!.getReader();
      let text = '';
      let reads = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
        // Read slowly at first, so the client's socket buffer fills and the gateway must wait for drain.
        if (++reads < 20) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const frames = text.split('\n\n').filter((f) => f.startsWith('data: {'));
      const tokens = frames.filter((f) => f.includes('"content":" ')).length;
      assert.equal(tokens, 20_000);
      assert.ok(text.trimEnd().endsWith('data: [DONE]'));
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});
