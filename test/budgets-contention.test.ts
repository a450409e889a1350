/**
 * The flash-sale test of budgets: 2,000 requests of known cost at once against a budget of $1.00, through
 * three `sluice serve` processes sharing Redis, and through one gateway on the memory backend. Every
 * request costs exactly its reservation (input is free at this price and the simulator writes exactly
 * max_tokens), so the budget admits exactly 200 and is then spent to the last nano-dollar: charged ≤ $1.00,
 * and refused only once what is left is below one request's cost.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { startSimulator } from '../src/simulator/server.js';
import { startGateway } from './helpers/gateway.js';
import { deleteKeysWithPrefix, redisUrl, skipWithoutRedis } from './helpers/redis.js';
import { startServeProcess, type ServeProcess } from './helpers/serve-process.js';

const requests = 2_000;
/** $1,000 per million output tokens, 5 tokens each: $0.005 a request, 200 of them in $1.00. */
const price = { input_per_mtok: 0, output_per_mtok: 1_000 };
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
const prefix = `{sluice-test-${randomUUID()}}:`;

const agent = new Agent({ connections: requests, headersTimeout: 120_000, bodyTimeout: 120_000 });
after(async () => {
  await agent.close();
  await deleteKeysWithPrefix(prefix);
});

interface Outcome {
  status: number;
  shouldRetry: string | undefined;
  code: string | undefined;
  message: string | undefined;
}

async function send(url: string, secret: string): Promise<Outcome> {
  const response = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body,
  });
  const json = (await response.body.json()) as { error?: { code?: string; message?: string } };
  const shouldRetry = response.headers['x-should-retry'];
  return {
    status: response.statusCode,
    shouldRetry: typeof shouldRetry === 'string' ? shouldRetry : undefined,
    code: json.error?.code,
    message: json.error?.message,
  };
}

function check(outcomes: readonly Outcome[], upstreamRequests: number): void {
  const byStatus: Record<number, number> = {};
  for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  assert.deepEqual(byStatus, { 200: 200, 429: 1_800 }, JSON.stringify(byStatus));
  assert.equal(upstreamRequests, 200, 'a refused request never reaches the upstream');
  const refused = outcomes.find((o) => o.status === 429) as Outcome;
  assert.equal(refused.code, 'budget_exceeded');
  assert.equal(refused.shouldRetry, 'false');
  assert.match(refused.message ?? '', /budget of key:flash/);
}

/** After the settlements: nothing left, and the next request says so. */
async function spentOut(url: string, secret: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const next = await send(url, secret);
    assert.equal(next.status, 429);
    // Reservations still being settled show as reserved; once settled, the left amount is exactly 0.
    if (/\$0\.000000 of \$1 left/.test(next.message ?? '')) return;
    if (Date.now() > deadline) throw new Error(`not spent out: ${next.message}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('budgets under contention', { timeout: 300_000 }, () => {
  test('memory backend, one gateway: exactly 200 of 2,000 at $0.005 against $1.00', async () => {
    const sim = await startSimulator({ port: 0, outputTokens: 50 });
    const gw = await startGateway({
      providers: [{ name: 'sim', kind: 'openai-compatible', base_url: `${sim.url}/v1`, api_key: 'sk-up-1' }],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price }],
      keys: [{ name: 'flash', key: 'sk-budget-flash-1', budget: { usd: 1, period: 'total' } }],
    });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: requests }, () => send(gw.url, 'sk-budget-flash-1')),
      );
      check(outcomes, sim.stats.requests);
      await spentOut(gw.url, 'sk-budget-flash-1');
    } finally {
      await gw.close();
      await sim.close();
    }
  });

  /**
   * With leases a replica may refuse while another still holds unused slices of the budget: by at most
   * (replicas − 1) grants, a grant being at most a sixteenth of what remained (12 requests of $0.005 out of
   * $1.00). The slices come back within a flush interval once idle, and the budget is then spent to the
   * last request: 200 in all, exactly $1.00.
   */
  for (const leases of [false, true]) {
    test(
      `Redis backend, three sluice serve processes, ${leases ? 'with leases' : 'atomic counter'}: 2,000 at $0.005 against $1.00`,
      { skip: skipWithoutRedis },
      async () => {
        const sim = await startSimulator({ port: 0, outputTokens: 50 });
        const dir = await mkdtemp(join(tmpdir(), 'sluice-budgets-'));
        const replicas: ServeProcess[] = [];
        const key = `flash-${leases ? 'leased' : 'atomic'}`;
        const secret = `sk-budget-${key}`;
        try {
          const config = {
            server: { host: '127.0.0.1', shutdown_grace_ms: 1_000 },
            logging: { level: 'warn' },
            state: { backend: 'redis', redis_url: redisUrl, key_prefix: prefix },
            budgets: { leases },
            routing: { max_attempts: 1, cooldowns: false },
            providers: [
              { name: 'sim', kind: 'openai-compatible', base_url: `${sim.url}/v1`, api_key: 'sk-up-1' },
            ],
            models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price }],
            keys: [{ name: key, key: secret, budget: { usd: 1, period: 'total' } }],
          };
          const path = join(dir, 'sluice.json');
          await writeFile(path, JSON.stringify(config));
          replicas.push(...(await Promise.all([0, 1, 2].map(() => startServeProcess(path)))));
          // No warm-up: any request would spend budget, so the burst itself is the first traffic.
          const outcomes = await Promise.all(
            Array.from({ length: requests }, (_, i) => send((replicas[i % 3] as ServeProcess).url, secret)),
          );
          const admitted = outcomes.filter((o) => o.status === 200).length;
          assert.equal(admitted + outcomes.filter((o) => o.status === 429).length, requests);
          const refused = outcomes.find((o) => o.status === 429) as Outcome;
          assert.equal(refused.code, 'budget_exceeded');
          assert.equal(refused.shouldRetry, 'false');
          if (leases) assert.ok(admitted >= 200 - 2 * 12 && admitted <= 200, `admitted ${admitted}`);
          else assert.equal(admitted, 200);
          // Then one request at a time until the budget refuses for good: 200 in all.
          let after = 0;
          const deadline = Date.now() + 10_000;
          while (admitted + after < 200 && Date.now() < deadline) {
            const next = await send((replicas[after % 3] as ServeProcess).url, secret);
            if (next.status === 200) after++;
            else await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.equal(admitted + after, 200);
          assert.equal(sim.stats.requests, 200, 'a refused request never reaches the upstream');
          await spentOut((replicas[0] as ServeProcess).url, secret);
          const redis = new Redis(redisUrl);
          try {
            const deadlineSettled = Date.now() + 5_000;
            let state = await redis.hgetall(`${prefix}budget:total:key:${key}`);
            while (state['reserved'] !== '0' && Date.now() < deadlineSettled) {
              await new Promise((resolve) => setTimeout(resolve, 100));
              state = await redis.hgetall(`${prefix}budget:total:key:${key}`);
            }
            assert.deepEqual(state, { spent: '1000000000', reserved: '0' }, 'exactly $1.00 in nano-dollars');
          } finally {
            await redis.quit();
          }
        } finally {
          await Promise.all(replicas.map((r) => r.stop()));
          await rm(dir, { recursive: true, force: true });
          await sim.close();
        }
      },
    );
  }
});
