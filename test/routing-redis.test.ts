/**
 * Routing with the Redis state backend: the shared cases (flaky target, total outage, 429 cooldowns) on
 * Redis, and cooldowns shared between two gateways (replicas) on one isolated key prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { createCooldownStore, type CooldownStore } from '../src/state/index.js';
import { startGateway, upstream, waitFor, type TestGateway } from './helpers/gateway.js';
import { sharedRoutingCases } from './helpers/routing-cases.js';
import { routingScenarios } from './helpers/routing-scenarios.js';
import { chat, redisBackend, redisUrl } from './helpers/routing.js';

sharedRoutingCases(redisBackend());
routingScenarios(redisBackend);

describe('cooldowns shared through Redis between two gateways', () => {
  const backend = redisBackend();
  const model = 'gpt-4o-mini';
  let limited: SimulatorHandle;
  let healthy: SimulatorHandle;
  let storeB: CooldownStore;
  let gatewayA: TestGateway;
  let gatewayB: TestGateway;

  before(async () => {
    limited = await startSimulator({ port: 0, rateLimitRate: 1, retryAfterSeconds: 3 });
    healthy = await startSimulator({ port: 0 });
    const config = {
      logging: { level: 'warn' },
      state: { backend: 'redis', redis_url: redisUrl },
      routing: { max_attempts: 3, retry: { backoff_base_ms: 1 }, cooldowns: true },
      providers: [upstream('limited', limited.url), upstream('healthy', healthy.url)],
      models: [
        { name: 'solo', targets: [{ provider: 'limited', model }] },
        {
          name: 'pair',
          targets: [
            { provider: 'limited', model, weight: 1_000 },
            { provider: 'healthy', model, weight: 1 },
          ],
        },
      ],
    };
    gatewayA = await startGateway(config, { cooldowns: (await backend.store()) as CooldownStore });
    storeB = (await backend.store()) as CooldownStore;
    gatewayB = await startGateway(config, { cooldowns: storeB });
  });

  after(async () => {
    await gatewayA.close();
    await gatewayB.close();
    await limited.close();
    await healthy.close();
    await backend.cleanup();
    assert.deepEqual(await backend.keys(), [], 'keys cleaned up');
  });

  test('a 429 seen by gateway A keeps gateway B away from that target', async () => {
    const first = await chat(gatewayA, 'solo');
    assert.equal(first.status, 429);
    assert.equal(limited.stats.requests, 1);
    await waitFor(() => storeB.until(`limited/${model}`) > Date.now(), 2_000, 'the cooldown to reach B');
    const keys = await backend.keys();
    assert.ok(
      keys.some((k) => k.endsWith(`cooldown:limited/${model}`)),
      keys.join(' '),
    );

    const solo = await chat(gatewayB, 'solo');
    assert.equal(solo.status, 429, 'B answers from the shared cooldown');
    assert.ok(Number(solo.headers.get('retry-after')) >= 1);
    const pair = await chat(gatewayB, 'pair');
    assert.equal(pair.status, 200);
    assert.equal(pair.headers.get('x-sluice-provider'), 'healthy');
    assert.match(pair.headers.get('x-sluice-route') ?? '', /limited\/gpt-4o-mini:skipped\(cooldown\)/);
    assert.equal(limited.stats.requests, 1, 'B never called the target A saw throttled');
  });
});

describe('readiness follows the state backend', () => {
  test('Redis unreachable: /readyz is 503, requests still flow (cooldowns fail open)', async () => {
    const sim = await startSimulator({ port: 0 });
    const state = {
      backend: 'redis' as const,
      redis_url: 'redis://127.0.0.1:1/0',
      on_error: 'open' as const,
      key_prefix: '{sluice-readyz}:',
    };
    const errors: unknown[] = [];
    const store = await createCooldownStore(state, {
      prefix: '{sluice-readyz}:',
      onError: (e) => errors.push(e),
    });
    const gw = await startGateway(
      {
        state,
        providers: [upstream('sim', sim.url)],
        models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
      },
      { cooldowns: store },
    );
    try {
      const ready = await fetch(`${gw.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /state backend unreachable/);
      assert.equal((await chat(gw, 'm')).status, 200);
      assert.ok(errors.length > 0, 'the outage was reported');
      // Idempotency keys live in Redis too: with on_error open the request runs without the guarantee.
      const keyed = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'while-redis-is-away' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(keyed.status, 200);
      await keyed.arrayBuffer();
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
