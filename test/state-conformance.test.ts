/**
 * One contract for every cooldown backend (after undici's cache-store tests): the same cases run against
 * the memory store and against a real Redis at 127.0.0.1:6379, then the cases only Redis has (sharing
 * between replicas, loading at start, failing open). Each Redis run uses its own random prefix and
 * deletes its keys afterwards. Without a Redis the Redis half is skipped locally and fails in CI
 * (.ci/run starts one).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { StateConfig } from '../src/config/schema.js';
import { createCooldownStore, type CooldownStore } from '../src/state/index.js';
import { skipWithoutRedis } from './helpers/redis.js';

const redisUrl = 'redis://127.0.0.1:6379/0';

/** A clock that starts at the real time (Redis expires keys by its own clock) and moves only when told. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let now = Date.now();
  return { now: () => now, advance: (ms) => void (now += ms) };
}

type MakeStore = (now: () => number) => Promise<CooldownStore>;

function contractSuite(name: string, make: MakeStore): void {
  describe(`cooldown store contract: ${name}`, { timeout: 10_000 }, () => {
    test('an unknown target has no cooldown', async () => {
      const store = await make(Date.now);
      try {
        assert.equal(store.until('never-seen'), 0);
      } finally {
        await store.close();
      }
    });

    test('set then until returns the cooldown, per target', async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        const untilMs = clock.now() + 5_000;
        store.set('openai/key-a', untilMs);
        assert.equal(store.until('openai/key-a'), untilMs);
        assert.equal(store.until('openai/key-b'), 0);
      } finally {
        await store.close();
      }
    });

    test('extends only: a shorter cooldown never shortens a longer one', async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        const t0 = clock.now();
        store.set('t', t0 + 2_000);
        store.set('t', t0 + 1_500);
        assert.equal(store.until('t'), t0 + 2_000);
        store.set('t', t0 + 3_000);
        assert.equal(store.until('t'), t0 + 3_000);
      } finally {
        await store.close();
      }
    });

    test('a cooldown expires when its time comes', async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        const untilMs = clock.now() + 1_000;
        store.set('t', untilMs);
        clock.advance(999);
        assert.equal(store.until('t'), untilMs);
        clock.advance(1);
        assert.equal(store.until('t'), 0);
        // Expired means gone: a later, shorter cooldown applies again.
        store.set('t', clock.now() + 10);
        assert.equal(store.until('t'), clock.now() + 10);
      } finally {
        await store.close();
      }
    });

    test('a cooldown already over, or not a number, is ignored', async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        store.set('past', clock.now() - 1);
        store.set('now', clock.now());
        store.set('nan', Number.NaN);
        assert.equal(store.until('past'), 0);
        assert.equal(store.until('now'), 0);
        assert.equal(store.until('nan'), 0);
      } finally {
        await store.close();
      }
    });
  });
}

contractSuite('memory', (now) =>
  createCooldownStore(
    { backend: 'memory', redis_url: '', on_error: 'open', key_prefix: '{sluice}:' },
    { now },
  ),
);

const skipRedis = skipWithoutRedis;

const prefix = `{sluice-test-${randomUUID()}}:`;
const redisState: StateConfig = {
  backend: 'redis',
  redis_url: redisUrl,
  on_error: 'closed',
  key_prefix: '{sluice}:',
};
const errors: unknown[] = [];
const opened: CooldownStore[] = [];

async function openRedis(now: () => number = Date.now, keyPrefix = prefix): Promise<CooldownStore> {
  const store = await createCooldownStore(redisState, {
    prefix: keyPrefix,
    now,
    onError: (e) => errors.push(e),
  });
  opened.push(store);
  return store;
}

/** Polls until the condition holds, failing after `withinMs`. */
async function eventually(condition: () => boolean, withinMs: number): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > withinMs) assert.fail(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return Date.now() - start;
}

if (skipRedis === false) {
  // Each contract case gets a fresh namespace under the run's hash tag, as the memory cases get a fresh Map.
  let namespace = 0;
  contractSuite('redis', (now) => openRedis(now, `${prefix}${++namespace}:`));

  const admin = new Redis(redisUrl, { lazyConnect: true });
  before(() => admin.connect());
  after(async () => {
    await Promise.all(opened.map((store) => store.close()));
    const keys = await admin.keys(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    if (keys.length > 0) await admin.del(keys);
    await admin.quit();
    assert.deepEqual(errors, [], 'the healthy Redis reported no errors');
  });

  describe('cooldown store: redis only', { timeout: 10_000 }, () => {
    test('writes the key with PXAT, extend-only in Redis too', async () => {
      const store = await openRedis();
      const untilMs = Date.now() + 60_000;
      store.set('pxat', untilMs);
      const key = `${prefix}cooldown:pxat`;
      let value: string | null = null;
      await waitFor(async () => (value = await admin.get(key)) !== null, 500);
      assert.equal(value, String(untilMs));
      assert.equal(await admin.pexpiretime(key), untilMs);
      store.set('pxat', untilMs - 10_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await admin.get(key), String(untilMs));
    });

    test('two replicas see each other’s cooldowns within ~100 ms (pub/sub)', async () => {
      const a = await openRedis();
      const b = await openRedis();
      const untilMs = Date.now() + 30_000;
      a.set('shared/one', untilMs);
      const took = await eventually(() => b.until('shared/one') === untilMs, 100);
      assert.ok(took <= 100);
      // And back, and extend-only across replicas: b's shorter cooldown does not undo a's longer one.
      b.set('shared/two', untilMs + 5_000);
      await eventually(() => a.until('shared/two') === untilMs + 5_000, 100);
      b.set('shared/one', untilMs - 5_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(a.until('shared/one'), untilMs);
      assert.equal(b.until('shared/one'), untilMs);
      assert.equal(await admin.get(`${prefix}cooldown:shared/one`), String(untilMs));
    });

    test('a replica started later loads the existing cooldowns', async () => {
      const early = await openRedis();
      const untilMs = Date.now() + 30_000;
      early.set('loaded with spaces: and colons', untilMs);
      await waitFor(
        async () => (await admin.get(`${prefix}cooldown:loaded with spaces: and colons`)) !== null,
        500,
      );
      const late = await openRedis();
      assert.equal(late.until('loaded with spaces: and colons'), untilMs);
    });

    test('a replica ignores cooldowns of another prefix', async () => {
      const other = await createCooldownStore(redisState, { prefix: `{sluice-test-${randomUUID()}}:` });
      try {
        const mine = await openRedis();
        mine.set('isolated', Date.now() + 30_000);
        await new Promise((resolve) => setTimeout(resolve, 30));
        assert.equal(other.until('isolated'), 0);
      } finally {
        await other.close();
      }
    });
  });

  describe('cooldown store: redis unreachable', { timeout: 10_000 }, () => {
    test('on_error open: opens anyway, works locally, reports the error once', async () => {
      const port = await closedPort();
      const reported: unknown[] = [];
      const store = await createCooldownStore(
        {
          backend: 'redis',
          redis_url: `redis://127.0.0.1:${port}/0`,
          on_error: 'open',
          key_prefix: '{sluice}:',
        },
        { prefix, onError: (e) => reported.push(e) },
      );
      try {
        const untilMs = Date.now() + 10_000;
        store.set('local-only', untilMs);
        assert.equal(store.until('local-only'), untilMs);
        // Reconnect attempts keep failing in the background: still one report for the outage.
        await new Promise((resolve) => setTimeout(resolve, 250));
        assert.equal(reported.length, 1);
        assert.match(String((reported[0] as Error).message), /ECONNREFUSED|closed/);
      } finally {
        await store.close();
      }
    });

    test('catches up when Redis comes back: pushes what it learned, listens again', async (t) => {
      const port = await closedPort();
      const url = `redis://127.0.0.1:${port}/0`;
      const reported: unknown[] = [];
      const store = await createCooldownStore(
        { backend: 'redis', redis_url: url, on_error: 'open', key_prefix: '{sluice}:' },
        { prefix, onError: (e) => reported.push(e) },
      );
      let server: ChildProcess | undefined;
      try {
        const learnedOffline = Date.now() + 30_000;
        store.set('offline', learnedOffline);
        server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
          stdio: 'ignore',
        });
        const spawned = await new Promise<boolean>((resolve) => {
          server?.once('spawn', () => resolve(true));
          server?.once('error', () => resolve(false));
        });
        if (!spawned) return t.skip('no redis-server binary');
        // Connects by itself, retrying every 20 ms until the server listens.
        const direct = new Redis(url, { retryStrategy: () => 20 });
        direct.on('error', () => undefined);
        try {
          await eventually(() => direct.status === 'ready', 3_000);
          // Reconnect backoff is at most 2 s, so within ~3 s the store has pushed its cooldown...
          await waitFor(
            async () => (await direct.get(`${prefix}cooldown:offline`)) === String(learnedOffline),
            3_000,
          );
          // ...and listens again.
          const later = Date.now() + 40_000;
          await direct.eval(
            `redis.call('PUBLISH', KEYS[1], ARGV[1])`,
            1,
            `${prefix}cooldowns`,
            `${later} from-peer`,
          );
          await eventually(() => store.until('from-peer') === later, 500);
          assert.equal(reported.length, 1, 'one report for the one outage');
        } finally {
          direct.disconnect();
        }
      } finally {
        await store.close();
        server?.kill();
      }
    });

    test('on_error closed: opening rejects', async () => {
      const port = await closedPort();
      await assert.rejects(
        createCooldownStore(
          {
            backend: 'redis',
            redis_url: `redis://127.0.0.1:${port}/0`,
            on_error: 'closed',
            key_prefix: '{sluice}:',
          },
          { prefix, onError: () => undefined },
        ),
        /unreachable at start/,
      );
    });
  });
} else {
  test('cooldown store contract: redis', { skip: skipRedis }, () => undefined);
}

async function waitFor(condition: () => Promise<boolean>, withinMs: number): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > withinMs) assert.fail(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
