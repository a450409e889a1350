/**
 * Helpers of the routing tests: a fetch client that times each answer, a load driver with bounded
 * concurrency, a /metrics reader, a tiny node:http stub upstream for answers the simulator does not give,
 * and the state backends (memory, Redis on an isolated prefix) the shared cases run against.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createCooldownStore, type CooldownStore } from '../../src/state/index.js';
import { startGateway, type TestGateway } from './gateway.js';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Wall time from sending the request to the end of the body. */
  ms: number;
}

export interface ChatOptions {
  stream?: boolean;
  headers?: Record<string, string>;
  content?: string;
}

export async function chat(
  gateway: { url: string },
  model: string,
  options: ChatOptions = {},
): Promise<Reply> {
  const startedAt = performance.now();
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: options.content ?? 'hello' }],
      ...(options.stream === true ? { stream: true } : {}),
    }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, ms: performance.now() - startedAt };
}

/** A stream that ended normally: its last event is [DONE] and no error frame came before it. */
export function completeStream(reply: Reply): boolean {
  return (
    reply.status === 200 && reply.text.trimEnd().endsWith('data: [DONE]') && !reply.text.includes('"error"')
  );
}

/** Runs `one(0..n-1)` with at most `concurrency` at a time. */
export async function load(n: number, concurrency: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await one(next++);
    }),
  );
}

/** The value of the first sample of `name` whose labels include all of `labels`, or undefined. */
export async function metric(
  gateway: { url: string },
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A chat.completion body as an OpenAI-compatible upstream sends it. */
export function completionJson(model: string): string {
  return JSON.stringify({
    id: 'chatcmpl-stub',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'stub answer' },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
}

export interface Stub {
  url: string;
  /** Requests per upstream model name. */
  counts: Map<string, number>;
  count(model: string): number;
  close(): Promise<void>;
}

/** An upstream whose answer `handler` writes, given the model of the request body. */
export async function startStub(
  handler: (model: string, res: ServerResponse, req: IncomingMessage) => void,
): Promise<Stub> {
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let model = '';
      try {
        model = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: unknown }).model);
      } catch {
        // counted under ''
      }
      counts.set(model, (counts.get(model) ?? 0) + 1);
      handler(model, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    count: (model) => counts.get(model) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const redisUrl = process.env['SLUICE_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

/** Where the cooldowns of a test live: in process, or Redis on a prefix of its own. */
export interface Backend {
  name: 'memory' | 'redis';
  /** A gateway on this backend; with Redis every gateway of one Backend shares its prefix. */
  gateway(config: Record<string, unknown>): Promise<TestGateway>;
  /** With Redis: a store of its own on the shared prefix (what another replica would see). */
  store(): Promise<CooldownStore | undefined>;
  /** Keys written under the prefix (Redis), for assertions. */
  keys(): Promise<string[]>;
  /** Deletes what the tests wrote. */
  cleanup(): Promise<void>;
}

export function memoryBackend(): Backend {
  return {
    name: 'memory',
    gateway: (config) => startGateway(config),
    store: () => Promise.resolve(undefined),
    keys: () => Promise.resolve([]),
    cleanup: () => Promise.resolve(),
  };
}

export function redisBackend(): Backend {
  const prefix = `{sluice-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}}:`;
  const state = {
    backend: 'redis' as const,
    redis_url: redisUrl,
    on_error: 'closed' as const,
    key_prefix: prefix,
  };
  const open = (): Promise<CooldownStore> => createCooldownStore(state, { prefix });
  const scan = async (redis: Redis): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [nextCursor, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };
  const withRedis = async <T>(use: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      return await use(redis);
    } finally {
      redis.disconnect();
    }
  };
  return {
    name: 'redis',
    gateway: async (config) =>
      startGateway(
        { ...config, state: { backend: 'redis', redis_url: redisUrl, key_prefix: prefix } },
        { cooldowns: await open() },
      ),
    store: open,
    keys: () => withRedis(scan),
    cleanup: () =>
      withRedis(async (redis) => {
        const keys = await scan(redis);
        if (keys.length > 0) await redis.del(...keys);
      }),
  };
}
