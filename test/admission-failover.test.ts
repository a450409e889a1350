/**
 * Redis going away under the limiter (`state.on_error`), with a real Redis behind a TCP proxy the test
 * cuts and restores: `open` falls back to each replica's share of every limit (the limit divided by the
 * replica count seen in Redis), reports the outage once each way, reconnects by itself and gives the shared
 * answers again; `closed` refuses. Then the same through a gateway: requests keep flowing, /metrics and
 * the log say so. Needs Redis at 127.0.0.1:6379 (skipped locally without, fails in CI).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLimiter } from '../src/admission/create-limiter.js';
import type { FailoverLimiter } from '../src/admission/limits/failover-limiter.js';
import type { Decision, Limiter, StateChange } from '../src/admission/limits/limiter.js';
import { validateConfig } from '../src/config/load.js';
import { startSimulator } from '../src/simulator/server.js';
import { startGateway, upstream } from './helpers/gateway.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { deleteKeysWithPrefix, skipWithoutRedis } from './helpers/redis.js';

const skip = skipWithoutRedis;

const prefixes: string[] = [];
function freshPrefix(): string {
  const prefix = `{sluice-test-${randomUUID()}}:`;
  prefixes.push(prefix);
  return prefix;
}

after(() => deleteKeysWithPrefix(...prefixes));

function configFor(url: string, prefix: string, onError: 'open' | 'closed', extra: object = {}) {
  return validateConfig({
    state: { backend: 'redis', redis_url: url, key_prefix: prefix, on_error: onError, ...extra },
    providers: [{ name: 'p', kind: 'simulator' }],
    models: [{ name: 'm', targets: [{ provider: 'p', model: 'x' }] }],
    keys: [{ name: 'k', key: 'sk-failover-test-01', limits: { rpm: 10 } }],
  });
}

async function open(url: string, prefix: string, onError: 'open' | 'closed', extra: object = {}) {
  const limiter = (await createLimiter(configFor(url, prefix, onError, extra))) as Limiter;
  const changes: StateChange[] = [];
  const health = limiter.health;
  assert.ok(health !== undefined, 'the Redis limiter reports its health');
  health.onStateChange = (change) => changes.push(change);
  return { limiter, health, changes };
}

const admittedOf = (decisions: readonly Decision[]): number => decisions.filter((d) => d.admitted).length;

async function burst(limiter: Limiter, key: string, count: number): Promise<Decision[]> {
  return Promise.all(Array.from({ length: count }, () => limiter.acquire([{ key, rpm: 10 }], 0)));
}

/** Polls until the limiter has taken a decision through Redis again (ioredis backs off up to 2 s). */
async function untilRecovered(limiter: Limiter, key: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (limiter.health?.degraded === true) {
    if (Date.now() > deadline) throw new Error('the limiter did not recover within 15 s');
    await sleep(100);
    await limiter.acquire([{ key, rpm: 1_000_000 }], 0);
  }
}

describe('Redis outage: state.on_error', { skip, timeout: 60_000 }, () => {
  test('open: per-replica shares while Redis is away, the shared limit again once it is back', async () => {
    const proxy = await TcpProxy.start(6379);
    const prefix = freshPrefix();
    const a = await open(proxy.url, prefix, 'open');
    const b = await open(proxy.url, prefix, 'open');
    try {
      // Two replicas announced themselves; a re-announces to learn of b.
      await (a.limiter as FailoverLimiter).announce();
      assert.equal(a.health.replicas, 2);
      assert.equal(b.health.replicas, 2);

      // Shared: rpm 10 across both replicas.
      const shared = [...(await burst(a.limiter, 'key:k', 8)), ...(await burst(b.limiter, 'key:k', 8))];
      assert.equal(admittedOf(shared), 10);

      await proxy.cut();
      // Each replica now admits its share of a fresh local bucket: 10 / 2 replicas = 5.
      const local = await burst(a.limiter, 'key:outage', 8);
      assert.equal(admittedOf(local), 5);
      assert.equal(a.health.degraded, true);
      assert.ok(a.health.localDecisions >= 8);
      assert.equal(a.changes.length, 1);
      assert.equal(a.changes[0]?.degraded, true);
      const refused = local.find((d) => !d.admitted);
      assert.ok(refused !== undefined && 'limit' in refused && refused.retryAfterMs > 0);

      await proxy.restore();
      await untilRecovered(a.limiter, 'key:probe');
      assert.deepEqual(
        a.changes.map((c) => c.degraded),
        [true, false],
      );
      // The same answers as before the outage: key:k's shared bucket is still spent in Redis.
      const after = await burst(a.limiter, 'key:k', 3);
      assert.equal(admittedOf(after), 0);
    } finally {
      await a.limiter.close();
      await b.limiter.close();
      await proxy.close();
    }
  });

  test('open: a replica that starts without Redis runs on its share and joins once Redis answers', async () => {
    const proxy = await TcpProxy.start(6379);
    await proxy.cut();
    const prefix = freshPrefix();
    const a = await open(proxy.url, prefix, 'open', { replicas: 2 });
    try {
      assert.equal(a.health.degraded, true);
      assert.equal(admittedOf(await burst(a.limiter, 'key:cold', 8)), 5);
      await proxy.restore();
      await untilRecovered(a.limiter, 'key:probe');
      // Shared again: a fresh subject gets the whole limit.
      assert.equal(admittedOf(await burst(a.limiter, 'key:warm', 12)), 10);
    } finally {
      await a.limiter.close();
      await proxy.close();
    }
  });

  test('open: a request that fits the limit but not the replica share is a 429, not a 400', async () => {
    const proxy = await TcpProxy.start(6379);
    const prefix = freshPrefix();
    const a = await open(proxy.url, prefix, 'open', { replicas: 4 });
    try {
      await proxy.cut();
      const decision = await a.limiter.acquire([{ key: 'key:t', tpm: 1000 }], 400);
      assert.ok(!decision.admitted && 'limit' in decision, JSON.stringify(decision));
      assert.equal(decision.limit.kind, 'tpm');
      // Larger than the limit itself: still the 4xx.
      const never = await a.limiter.acquire([{ key: 'key:t', tpm: 1000 }], 1001);
      assert.ok(!never.admitted && 'tooLarge' in never);
    } finally {
      await a.limiter.close();
      await proxy.close();
    }
  });

  test('closed: decisions fail while Redis is away (the gateway answers 503), and work again after', async () => {
    const proxy = await TcpProxy.start(6379);
    const prefix = freshPrefix();
    const a = await open(proxy.url, prefix, 'closed');
    try {
      assert.equal(admittedOf(await burst(a.limiter, 'key:c', 3)), 3);
      await proxy.cut();
      await assert.rejects(a.limiter.acquire([{ key: 'key:c', rpm: 10 }], 0));
      await assert.rejects(a.limiter.acquire([{ key: 'key:c', rpm: 10 }], 0));
      assert.equal(a.changes.length, 1);
      await proxy.restore();
      const deadline = Date.now() + 15_000;
      let decision: Decision | undefined;
      while (decision === undefined) {
        if (Date.now() > deadline) throw new Error('no recovery within 15 s');
        await sleep(100);
        decision = await a.limiter.acquire([{ key: 'key:c', rpm: 10 }], 0).catch(() => undefined);
      }
      assert.equal(decision.admitted, true);
      assert.equal(a.health.degraded, false);
    } finally {
      await a.limiter.close();
      await proxy.close();
    }
  });

  test('closed: a gateway that cannot reach Redis at start refuses to start', async () => {
    const proxy = await TcpProxy.start(6379);
    await proxy.cut();
    try {
      await assert.rejects(createLimiter(configFor(proxy.url, freshPrefix(), 'closed')));
    } finally {
      await proxy.close();
    }
  });

  test('through a gateway: requests flow during the outage, /metrics and the log say so', async () => {
    const proxy = await TcpProxy.start(6379);
    const sim = await startSimulator({ port: 0 });
    const prefix = freshPrefix();
    const gw = await startGateway({
      state: { backend: 'redis', redis_url: proxy.url, key_prefix: prefix, replicas: 1 },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
      keys: [{ name: 'k', key: 'sk-failover-gw-01', limits: { rpm: 3 } }],
    });
    const post = async (): Promise<number> => {
      const response = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-failover-gw-01' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
      });
      await response.arrayBuffer();
      return response.status;
    };
    const metric = async (name: string): Promise<string | undefined> => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      return text.split('\n').find((line) => line.startsWith(name));
    };
    try {
      assert.equal(await post(), 200);
      assert.equal(await metric('sluice_state_degraded'), 'sluice_state_degraded 0');
      await proxy.cut();
      // A fresh local bucket of rpm 3 (one replica): 3 more, then 429, never a 503.
      const statuses = [await post(), await post(), await post(), await post()];
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal(await metric('sluice_state_degraded'), 'sluice_state_degraded 1');
      assert.match((await metric('sluice_state_local_decisions_total')) ?? '', / [1-9]/);
      const warned = gw.logs.filter((l) => String(l['msg']).startsWith('state backend unreachable'));
      assert.equal(warned.length, 1);
      await proxy.restore();
      // The local bucket is spent, so every 200 from here on was admitted by Redis.
      const afterOutage: number[] = [];
      const deadline = Date.now() + 15_000;
      while ((await metric('sluice_state_degraded')) !== 'sluice_state_degraded 0') {
        if (Date.now() > deadline) throw new Error('no recovery within 15 s');
        await sleep(200);
        afterOutage.push(await post());
      }
      assert.ok(gw.logs.some((l) => String(l['msg']).startsWith('state backend reachable again')));
      for (let i = 0; i < 4; i++) afterOutage.push(await post());
      // Shared again: the key's Redis bucket had 1 of its 3 used before the outage, so exactly 2 more.
      assert.equal(afterOutage.filter((s) => s === 200).length, 2, JSON.stringify(afterOutage));
    } finally {
      await gw.close();
      await sim.close();
      await proxy.close();
    }
  });
});
