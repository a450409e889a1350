/**
 * The routing cases that run on every state backend (test/routing.test.ts with memory,
 * test/routing-redis.test.ts with Redis): one flaky target of two, a total outage bounded by the retry
 * budget and then by the breaker, and 429 cooldowns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/server.js';
import { upstream, type TestGateway } from './gateway.js';
import {
  chat,
  completeStream,
  completionJson,
  load,
  metric,
  startStub,
  type Backend,
  type Stub,
} from './routing.js';

const model = 'gpt-4o-mini';

export function sharedRoutingCases(backend: Backend): void {
  describe(`routing on the ${backend.name} backend`, () => {
    const closers: (() => Promise<void>)[] = [];
    const sim = async (options: Parameters<typeof startSimulator>[0]): Promise<SimulatorHandle> => {
      const handle = await startSimulator({ port: 0, ...options });
      closers.push(() => handle.close());
      return handle;
    };
    const gateway = async (config: Record<string, unknown>): Promise<TestGateway> => {
      const gw = await backend.gateway({ logging: { level: 'warn' }, ...config });
      closers.unshift(() => gw.close());
      return gw;
    };
    after(async () => {
      for (const close of closers) await close();
      await backend.cleanup();
    });

    test('one of two targets failing 30% with 5xx: >= 99.9% client success, failures retried on the other', async () => {
      const flaky = await sim({ errorRate: 0.3, seed: 42 });
      const healthy = await sim({ seed: 43 });
      const gw = await gateway({
        // Breaker at 10 in a row: at 30% that never happens, so the flaky target stays in rotation and its
        // failures are all absorbed by retries (what this case measures).
        routing: { max_attempts: 3, retry: { backoff_base_ms: 5 }, breaker: { consecutive_failures: 10 } },
        providers: [upstream('flaky', flaky.url), upstream('healthy', healthy.url)],
        models: [
          {
            name: 'm',
            targets: [
              { provider: 'flaky', model },
              { provider: 'healthy', model },
            ],
          },
        ],
      });
      const n = 1_000;
      let ok = 0;
      let retried = 0;
      await load(n, 20, async (i) => {
        const reply = await chat(gw, 'm', { stream: i % 4 === 0 });
        if (i % 4 === 0 ? completeStream(reply) : reply.status === 200) ok++;
        if (reply.headers.get('x-sluice-attempts') === '2') retried++;
      });
      const failures = flaky.stats.byStatus['500'] ?? 0;
      const rate = ok / n;
      console.log(
        `[${backend.name}] 30% flaky: success ${(rate * 100).toFixed(2)}%, flaky got ${flaky.stats.requests}` +
          ` (${failures} 500s), healthy ${healthy.stats.requests}, retried ${retried}`,
      );
      assert.ok(rate >= 0.999, `client success ${rate}`);
      assert.ok(flaky.stats.requests >= n * 0.3, `the flaky target got traffic: ${flaky.stats.requests}`);
      assert.ok(failures >= flaky.stats.requests * 0.2, `its 500s were real: ${failures}`);
      // Every 500 was retried exactly once, on the healthy target, and nothing else was.
      assert.equal(flaky.stats.requests + healthy.stats.requests, n + failures);
      assert.equal(retried, failures);
      assert.equal(
        await metric(gw, 'sluice_route_decisions_total', { decision: 'retry', provider: 'healthy' }),
        failures,
      );
    });

    describe('total outage', () => {
      const budget = {
        backoff_base_ms: 1,
        backoff_max_ms: 5,
        budget_ratio: 0.2,
        budget_min_per_second: 1,
        budget_window_ms: 10_000,
      };
      // Breakers out of the way (they would stop the traffic; the budget alone must bound it here).
      const noBreaker = { consecutive_failures: 1_000_000, error_rate: 1, min_requests: 1_000_000 };
      const bound = (n: number): number =>
        n * (1 + budget.budget_ratio) + (budget.budget_min_per_second * budget.budget_window_ms) / 1000;

      for (const targets of [1, 2]) {
        test(`${targets} target(s) all failing: upstream attempts <= 1.2x client requests + the budget floor`, async () => {
          const sims = await Promise.all(
            Array.from({ length: targets }, (_, i) => sim({ errorRate: 1, seed: i })),
          );
          const gw = await gateway({
            routing: { max_attempts: 3, retry: budget, breaker: noBreaker },
            providers: sims.map((s, i) => upstream(`down${i}`, s.url)),
            models: [{ name: 'm', targets: sims.map((_, i) => ({ provider: `down${i}`, model })) }],
          });
          const n = 300;
          const statuses = new Map<number, number>();
          await load(n, 20, async () => {
            const { status } = await chat(gw, 'm');
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          });
          const attempts = sims.reduce((sum, s) => sum + s.stats.requests, 0);
          console.log(
            `[${backend.name}] outage, ${targets} target(s): ${attempts} upstream attempts for ${n} requests` +
              ` (${(attempts / n).toFixed(3)}x, bound ${bound(n)})`,
          );
          assert.equal(statuses.get(502), n, `every request failed as upstream_error: ${[...statuses]}`);
          assert.ok(attempts <= bound(n), `attempts ${attempts} > ${bound(n)}`);
          // Retries did happen, within the budget (without a budget it would be 2x).
          assert.ok(attempts > n, `attempts ${attempts}`);
        });
      }

      test('with default breakers: they open, then requests fail fast with 503 and no upstream attempt', async () => {
        const down = await sim({ errorRate: 1 });
        const gw = await gateway({
          routing: { max_attempts: 3, retry: { backoff_base_ms: 1 } },
          providers: [upstream('down', down.url)],
          models: [{ name: 'm', targets: [{ provider: 'down', model }] }],
        });
        const gauge = (): Promise<number | undefined> =>
          metric(gw, 'sluice_breaker_state', { provider: 'down', target_model: model });
        assert.equal(await gauge(), 0);
        let sent = 0;
        while ((await gauge()) !== 2) {
          assert.ok(sent < 5, 'the breaker opens within 5 requests (5 consecutive failures)');
          assert.equal((await chat(gw, 'm')).status, 502);
          sent++;
        }
        const before = down.stats.requests;
        const replies: Awaited<ReturnType<typeof chat>>[] = [];
        await load(50, 10, async () => {
          replies.push(await chat(gw, 'm'));
        });
        assert.equal(down.stats.requests, before, 'no upstream attempt while open');
        for (const reply of replies) {
          assert.equal(reply.status, 503);
          assert.equal(
            (JSON.parse(reply.text) as { error: { code: string } }).error.code,
            'no_available_target',
          );
          assert.ok(Number(reply.headers.get('retry-after')) >= 1);
          // No upstream attempt is proven above; this bound catches a request that waited on something:
          // the breaker's cooldown (seconds), an upstream timeout (seconds). It leaves room for a loaded
          // 2-core machine running 10 at once, which has taken 302 ms for a request that waited on nothing.
          assert.ok(reply.ms < 1_000, `failed fast: ${reply.ms} ms`);
        }
      });
    });

    describe('429 and rate-limit headers', () => {
      let limited: SimulatorHandle;
      let solo: SimulatorHandle;
      let healthy: SimulatorHandle;
      let stub: Stub;
      let gw: TestGateway;

      before(async () => {
        limited = await sim({ rateLimitRate: 1, retryAfterSeconds: 3 });
        solo = await sim({ rateLimitRate: 1, retryAfterSeconds: 3 });
        healthy = await sim({});
        // Answers 200 but says the key's request quota is spent until 3 s from now.
        stub = await startStub((name, res) => {
          res.writeHead(200, {
            'content-type': 'application/json',
            'x-ratelimit-limit-requests': '100',
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': '3s',
          });
          res.end(completionJson(name));
        });
        closers.push(() => stub.close());
        gw = await gateway({
          routing: { max_attempts: 3, retry: { backoff_base_ms: 1 }, cooldowns: true },
          providers: [
            upstream('limited', limited.url),
            upstream('solo', solo.url),
            upstream('healthy', healthy.url),
            upstream('quota', stub.url),
          ],
          models: [
            // The heavy weight puts the target first in (almost) every order, so avoiding it is the cooldown.
            {
              name: 'pair',
              targets: [
                { provider: 'limited', model, weight: 1_000 },
                { provider: 'healthy', model, weight: 1 },
              ],
            },
            { name: 'solo', targets: [{ provider: 'solo', model }] },
            {
              name: 'quota',
              targets: [
                { provider: 'quota', model, weight: 1_000 },
                { provider: 'healthy', model, weight: 1 },
              ],
            },
          ],
        });
      });

      test("an upstream 429 puts its target in cooldown; the model's other target answers meanwhile", async () => {
        const first = await chat(gw, 'pair');
        assert.equal(first.status, 200);
        assert.equal(first.headers.get('x-sluice-provider'), 'healthy');
        assert.equal(first.headers.get('x-sluice-route'), `limited/${model}:429, healthy/${model}:ok`);
        assert.equal(limited.stats.requests, 1);
        const before = healthy.stats.requests;
        await load(20, 5, async () => {
          const reply = await chat(gw, 'pair');
          assert.equal(reply.status, 200);
          assert.equal(reply.headers.get('x-sluice-provider'), 'healthy');
        });
        assert.equal(limited.stats.requests, 1, 'no request reached the target while it cooled down');
        assert.equal(healthy.stats.requests, before + 20);
        // A 429 is a quota signal, not sickness: the breaker stays closed.
        assert.equal(await metric(gw, 'sluice_breaker_state', { provider: 'limited' }), 0);
      });

      test('a single-target model answers 429 with Retry-After, without calling upstream again', async () => {
        const first = await chat(gw, 'solo');
        assert.equal(first.status, 429);
        assert.equal(solo.stats.requests, 1, 'a 429 is not retried on the same key');
        const second = await chat(gw, 'solo');
        assert.equal(second.status, 429);
        const retryAfter = Number(second.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 3, `retry-after ${retryAfter}`);
        assert.equal(solo.stats.requests, 1, 'answered from the cooldown');
      });

      test('x-ratelimit-remaining-requests: 0 on a success cools the target down too', async () => {
        const first = await chat(gw, 'quota');
        assert.equal(first.status, 200);
        assert.equal(first.headers.get('x-sluice-provider'), 'quota');
        for (let i = 0; i < 5; i++) {
          const reply = await chat(gw, 'quota');
          assert.equal(reply.status, 200);
          assert.equal(reply.headers.get('x-sluice-provider'), 'healthy');
        }
        assert.equal(stub.count(model), 1);
        if (backend.name === 'redis') {
          const keys = await backend.keys();
          assert.ok(
            keys.some((k) => k.endsWith(`quota/${model}`)),
            `shared in Redis: ${keys.join(' ')}`,
          );
        }
      });
    });
  });
}
