/**
 * Thousands of random and mutated bodies and headers: every answer must be a valid chat completion (when
 * the mutation happened to stay valid) or a 4xx in OpenAI's error format; never a 5xx, a hang, or a crash.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { mutate, pick, rng, weirdValues } from './helpers/fuzz.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const validBodies: Record<string, unknown>[] = [
  { model: 'm', messages: [{ role: 'user', content: 'hello' }] },
  {
    model: 'm',
    stream: true,
    stream_options: { include_usage: true },
    messages: [
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
    ],
  },
  {
    model: 'm',
    max_tokens: 5,
    temperature: 0.5,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'parts' }] }],
  },
];

const chatFields = [
  'model',
  'messages',
  'stream',
  'n',
  'tools',
  'stop',
  '__proto__',
  'constructor',
  'max_tokens',
];

function corruptBytes(random: () => number, text: string): Buffer {
  const bytes = Buffer.from(text);
  const roll = random();
  if (roll < 0.25) return bytes.subarray(0, Math.floor(random() * bytes.length));
  const copy = Buffer.from(bytes);
  const flips = 1 + Math.floor(random() * 4);
  for (let i = 0; i < flips && copy.length > 0; i++)
    copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
  if (roll < 0.5) return Buffer.concat([copy, Buffer.from([0xff, 0xfe, 0x00])]);
  return copy;
}

const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  '',
  ';;;',
];

describe('hostile input', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let pool: Pool;

  before(async () => {
    sim = await startSimulator({ port: 0, outputTokens: 2 });
    gateway = await startGateway({
      server: { max_body_bytes: 64 * 1024 },
      logging: { level: 'warn' },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'm' }] }],
      keys: [{ name: 'k', key: 'sk-hostile-test-key' }],
    });
    pool = new Pool(gateway.url, { connections: 8 });
  });

  after(async () => {
    await pool.close();
    await gateway.close();
    await sim.close();
  });

  test('3,000 random and mutated requests: valid answers or 4xx in the OpenAI error format', async () => {
    const random = rng(20261201);
    const statuses = new Map<number, number>();
    const total = 3_000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const roll = random();
        let body: Buffer;
        if (roll < 0.5)
          body = Buffer.from(JSON.stringify(mutate(random, pick(random, validBodies), chatFields)));
        else if (roll < 0.8) body = corruptBytes(random, JSON.stringify(pick(random, validBodies)));
        else if (roll < 0.9) body = Buffer.from(JSON.stringify(pick(random, weirdValues)) ?? 'undefined');
        else body = Buffer.from('['.repeat(Math.floor(random() * 5_000)));
        const headers: Record<string, string> = {
          authorization:
            random() < 0.9
              ? 'Bearer sk-hostile-test-key'
              : pick(random, [
                  'Bearer',
                  'Basic abc',
                  'bearer  ',
                  `Bearer ${'x'.repeat(5000)}`,
                  'Bearer sk-hostile-test-kex',
                ]),
        };
        const contentType = random() < 0.8 ? 'application/json' : pick(random, contentTypes);
        if (contentType !== '') headers['content-type'] = contentType;
        if (random() < 0.05) headers['x-sluice-priority'] = pick(random, ['urgent', '', 'batch', '\u00ff']);
        const path =
          random() < 0.95
            ? '/v1/chat/completions'
            : pick(random, [
                '/v1/embeddings',
                '/v1/chat/completions?x=%zz',
                '/v1//chat',
                '/v1/models/%E0%A4%A',
              ]);
        const method = random() < 0.97 ? 'POST' : pick(random, ['PUT', 'DELETE', 'PATCH', 'GET']);
        const res = await pool.request({ path, method, headers, body: method === 'GET' ? null : body });
        const text = await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const context = `request ${i}: ${method} ${path} → ${res.statusCode} ${text.slice(0, 300)}`;
        assert.ok(res.statusCode < 500, context);
        if (res.statusCode >= 400) {
          const parsed = JSON.parse(text) as {
            error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown };
          };
          assert.equal(typeof parsed.error?.message, 'string', context);
          assert.equal(typeof parsed.error?.type, 'string', context);
          assert.ok('param' in (parsed.error ?? {}) && 'code' in (parsed.error ?? {}), context);
        } else if (!text.startsWith('data:')) {
          assert.equal(
            (JSON.parse(text) as { object?: string }).object,
            method === 'GET' ? (JSON.parse(text) as { object?: string }).object : 'chat.completion',
            context,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const rejected = [...statuses].filter(([status]) => status >= 400).reduce((sum, [, n]) => sum + n, 0);
    assert.ok(rejected > total * 0.6, `most hostile requests are rejected: ${JSON.stringify([...statuses])}`);
    const health = await pool.request({ path: '/healthz', method: 'GET' });
    assert.equal(health.statusCode, 200);
    await health.body.text();
  });

  test('an oversized body is 413, by declared length and by streamed length', async () => {
    const big = Buffer.alloc(100 * 1024, 'a');
    const declared = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-hostile-test-key' },
      body: big,
    });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error: { code: string } }).error.code, 'payload_too_large');
    const chunked = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-hostile-test-key' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(16 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
  });

  test('a non-JSON content type is 415', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: 'Bearer sk-hostile-test-key' },
      body: '{"model":"m","messages":[{"role":"user","content":"x"}]}',
    });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
  });

  test('malformed HTTP on a raw socket gets a 400 and the server stays up', async () => {
    for (const garbage of [
      'NOT HTTP AT ALL\r\n\r\n',
      'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: abc\r\n\r\n',
      '\u0000\u0001\u0002\r\n\r\n',
    ]) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(gateway.port, '127.0.0.1', () => socket.write(garbage));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        setTimeout(() => socket.destroy(), 2_000);
      });
      assert.match(answer, /^HTTP\/1\.1 400/, JSON.stringify(garbage));
    }
    const health = await fetch(`${gateway.url}/healthz`);
    assert.equal(health.status, 200);
  });
});

describe('slow clients', () => {
  test('a client that trickles its body past request_timeout_ms gets 408 and the connection closes', async () => {
    const gateway = await startGateway({
      server: { request_timeout_ms: 400 },
      logging: { level: 'warn' },
      providers: [{ name: 'sim', kind: 'simulator' }],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'm' }] }],
    });
    try {
      const started = Date.now();
      const answer = await new Promise<string>((resolve) => {
        const socket = connect(gateway.port, '127.0.0.1', () => {
          socket.write(
            'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mo',
          );
        });
        let data = '';
        const drip = setInterval(() => socket.writable && socket.write(' '), 100);
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('close', () => {
          clearInterval(drip);
          resolve(data);
        });
        socket.on('error', () => undefined);
        setTimeout(() => socket.destroy(), 5_000);
      });
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - started < 3_000, `closed after ${Date.now() - started} ms`);
    } finally {
      await gateway.close();
    }
  });
});
