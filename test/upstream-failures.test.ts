/**
 * How upstream failures reach the client: timeouts are 504, unreachable upstreams 502, and an upstream
 * that hangs is cut off by the provider's timeouts rather than holding the client forever.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('upstream failures map to the right status', () => {
  let slow: SimulatorHandle;
  let hanging: Server;
  let refusedUrl: string;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    slow = await startSimulator({ port: 0, ttftMs: 2_000, latencyMs: 0 });
    // Accepts the request and never answers: only a timeout can end it.
    hanging = createServer(() => {});
    const hangingUrl = await listen(hanging);
    const closed = createServer();
    refusedUrl = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    gateway = await startGateway({
      providers: [
        upstream('slow', slow.url, { timeouts: { ttft_ms: 300, total_ms: 5_000 } }),
        upstream('hanging', hangingUrl, { timeouts: { ttft_ms: 300, total_ms: 400 } }),
        upstream('refused', refusedUrl),
        upstream('idle', slow.url, { timeouts: { ttft_ms: 5_000, idle_ms: 200, total_ms: 5_000 } }),
      ],
      models: [
        { name: 'slow', targets: [{ provider: 'slow', model: 'm' }] },
        { name: 'hanging', targets: [{ provider: 'hanging', model: 'm' }] },
        { name: 'refused', targets: [{ provider: 'refused', model: 'm' }] },
        { name: 'idle', targets: [{ provider: 'idle', model: 'm' }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await slow.close();
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
  });

  const ask = (model: string, stream = false) =>
    stream
      ? client.chat.completions
          .create({ model, messages: [{ role: 'user', content: 'x' }], stream: true })
          .then(async (s) => {
            for await (const _ of s);
          })
      : client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });

  test('a stream whose first token is later than ttft_ms is a 504, in about ttft_ms', async () => {
    const started = Date.now();
    await assert.rejects(
      ask('slow', true),
      (e: unknown) => e instanceof APIError && e.status === 504 && e.code === 'upstream_timeout',
    );
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 1_500, `took ${took} ms`);
  });

  test('an upstream that never answers hits total_ms: 504', async () => {
    const started = Date.now();
    await assert.rejects(ask('hanging'), (e: unknown) => e instanceof APIError && e.status === 504);
    assert.ok(Date.now() - started < 2_000);
  });

  test('a refused connection is a 502 upstream_unreachable', async () => {
    await assert.rejects(
      ask('refused'),
      (e: unknown) => e instanceof APIError && e.status === 502 && e.code === 'upstream_unreachable',
    );
  });

  test('a stream that goes silent for longer than idle_ms ends with an error event', async () => {
    slow.setOptions({ ttftMs: 0, tokensPerSecond: 2, outputTokens: 5 });
    try {
      await assert.rejects(ask('idle', true), (e: unknown) => e instanceof APIError);
    } finally {
      slow.setOptions({ ttftMs: 2_000, tokensPerSecond: 0, outputTokens: 16 });
    }
  });

  test('error bodies never carry a provider secret or a stack trace', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'refused', messages: [{ role: 'user', content: 'x' }] }),
    });
    const text = await res.text();
    assert.equal(res.status, 502);
    assert.ok(!text.includes('sk-provider-secret-123'));
    assert.ok(!/at .*\.js:\d+/.test(text), text);
    assert.equal(res.headers.get('x-sluice-provider'), 'refused');
  });
});

describe('upstream credential errors', () => {
  test("an upstream 401 is the gateway operator's problem: 502, and the provider key is not echoed", async () => {
    const sim = await startSimulator({ port: 0, apiKey: 'the-right-key' });
    const gateway = await startGateway({
      providers: [upstream('sim', sim.url, { api_key: 'sk-wrong-provider-key-xyz' })],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'm' }] }],
    });
    try {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 502);
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'upstream_auth_failed');
      assert.ok(!text.includes('wrong-provider'), text);
      assert.ok(!gateway.rawLogs().includes('sk-wrong-provider-key-xyz'));
    } finally {
      await gateway.close();
      await sim.close();
    }
  });
});

describe('whole answers that break or overflow', () => {
  // A raw upstream per behaviour: what it sends is the test.
  let servers: Server[] = [];
  let gateway: TestGateway;
  let bigErrorRequests = 0;

  before(async () => {
    const bigError = createServer((req, res) => {
      bigErrorRequests++;
      req.resume();
      // A 429 whose body is far larger than anyone needs for a message: read up to the cap, not whole.
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.write(`{"error":{"message":"slow down","pad":"${'x'.repeat(1024 * 1024)}`);
      res.end('"}}');
    });
    const cutOk = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"id":"chatcmpl-cut","choices":[');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const cutError = createServer((req, res) => {
      req.resume();
      res.writeHead(429, {
        'content-type': 'application/json',
        'content-length': '1000',
        'retry-after': '3',
      });
      res.write('{"error":{"message":"slow');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    servers = [bigError, cutOk, cutError];
    const [bigUrl, cutOkUrl, cutErrorUrl] = await Promise.all(servers.map(listen));
    gateway = await startGateway({
      routing: { max_attempts: 1, cooldowns: false },
      providers: [
        upstream('big-error', bigUrl as string),
        upstream('cut-ok', cutOkUrl as string),
        upstream('cut-error', cutErrorUrl as string),
      ],
      models: [
        { name: 'big-error', targets: [{ provider: 'big-error', model: 'm' }] },
        { name: 'cut-ok', targets: [{ provider: 'cut-ok', model: 'm' }] },
        { name: 'cut-error', targets: [{ provider: 'cut-error', model: 'm' }] },
      ],
    });
  });

  after(async () => {
    await gateway.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  const post = (model: string): Promise<Response> =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }] }),
    });

  test('an error answer of 1 MB is cut at its cap and still answers with its status and Retry-After', async () => {
    const res = await post('big-error');
    const text = await res.text();
    assert.equal(res.status, 429, text);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.ok(text.length < 4_096, `a short error body, not the upstream's megabyte (${text.length})`);
    // The cut closed that connection; the next request gets the same answer on a new one.
    assert.equal((await post('big-error')).status, 429);
    assert.equal(bigErrorRequests, 2);
  });

  test('a 200 answer cut before its end is a 502, never a partial answer', async () => {
    const res = await post('cut-ok');
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(res.status, 502);
    assert.equal(body.error.code, 'upstream_unreachable');
  });

  test('an error answer whose body breaks keeps its status', async () => {
    const res = await post('cut-error');
    await res.text();
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '3');
  });
});
