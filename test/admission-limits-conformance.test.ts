/**
 * One contract for every limiter backend (after undici's cache-store tests): the same cases run against
 * MemoryLimiter on a manual clock and against RedisLimiter on a real Redis at 127.0.0.1:6379, which keeps
 * its own (Redis TIME) clock, so the cases are written in emission intervals short enough to wait for
 * for real. Each Redis case gets its own random prefix; the run deletes its keys afterwards. Without a
 * Redis the Redis half is skipped locally and fails in CI.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Decision, Limiter, LimiterOptions, LimitSpec } from '../src/admission/limits/limiter.js';
import { MemoryLimiter } from '../src/admission/limits/memory-limiter.js';
import { openRedisLimiter } from '../src/admission/limits/redis-limiter.js';
import { skipWithoutRedis } from './helpers/redis.js';

const redisUrl = 'redis://127.0.0.1:6379/0';

interface Harness {
  limiter: Limiter;
  /** Lets `ms` pass: a manual clock moves for memory, real time passes for Redis. */
  wait(ms: number): Promise<void>;
  /** Slack for real-time backends: how late a real wait may be, in ms. */
  slackMs: number;
}

type MakeHarness = (options?: LimiterOptions) => Promise<Harness>;

/** rpm 300: one request every 200 ms, short enough to wait for in real time. */
const rpm = 300;
const interval = 60_000 / rpm;

async function burst(
  limiter: Limiter,
  specs: readonly LimitSpec[],
  count: number,
  tokens = 1,
): Promise<Decision[]> {
  return Promise.all(Array.from({ length: count }, () => limiter.acquire(specs, tokens)));
}

function admitted(decisions: readonly Decision[]): number {
  return decisions.filter((d) => d.admitted).length;
}

function refusal(decision: Decision): Extract<Decision, { limit: unknown }> {
  assert.ok(
    !decision.admitted && 'limit' in decision,
    `expected a limit refusal, got ${decision.admitted ? 'an admission' : JSON.stringify(decision)}`,
  );
  return decision;
}

function lease(decision: Decision): Extract<Decision, { admitted: true }>['lease'] {
  assert.ok(decision.admitted, `expected admission, got ${JSON.stringify(decision)}`);
  return decision.lease;
}

function conformanceSuite(name: string, make: MakeHarness): void {
  describe(`limiter conformance: ${name}`, { timeout: 20_000 }, () => {
    const open: Limiter[] = [];
    const harness: MakeHarness = async (options) => {
      const h = await make(options);
      open.push(h.limiter);
      return h;
    };
    after(async () => {
      await Promise.all(open.map((l) => l.close()));
    });

    test('rpm is exact: a burst of the limit, then one more per emission interval', async () => {
      const { limiter, wait, slackMs } = await harness();
      const specs = [{ key: 'key:exact', rpm }];
      const started = performance.now();
      const first = await burst(limiter, specs, rpm + 50);
      // On a real-time backend the burst itself takes time, which pays back one request per interval.
      const burstMs = performance.now() - started;
      const during = slackMs > 0 ? Math.floor(burstMs / interval) : 0;
      assert.ok(admitted(first) >= rpm && admitted(first) <= rpm + during, `admitted ${admitted(first)}`);
      const refused = refusal(first.find((d) => !d.admitted) as Decision);
      assert.deepEqual(refused.limit, { key: 'key:exact', kind: 'rpm' });
      assert.equal(refused.remaining, 0);
      // On a real-time backend the time the burst took has already paid back part of the next interval.
      const soonest = Math.min(interval - slackMs - 50, interval - (slackMs > 0 ? burstMs : 0) - slackMs);
      assert.ok(
        refused.retryAfterMs > soonest && refused.retryAfterMs <= interval,
        `retry after ${refused.retryAfterMs} ms (burst took ${burstMs.toFixed(0)} ms)`,
      );

      const waited = performance.now();
      await wait(interval + 10);
      const second = await burst(limiter, specs, 20);
      const late = slackMs > 0 ? Math.floor((performance.now() - waited) / interval) - 1 : 0;
      assert.ok(
        admitted(second) >= 1 && admitted(second) <= 1 + Math.max(0, late),
        `admitted ${admitted(second)}`,
      );
    });

    test('no double burst at a window edge: after a full burst, only what the elapsed time paid back', async () => {
      const { limiter, wait, slackMs } = await harness();
      const specs = [{ key: 'key:edge', rpm }];
      const started = performance.now();
      assert.equal(admitted(await burst(limiter, specs, rpm)), rpm);
      // Memory's clock starts 500 ms before a minute boundary (see below), so a fixed window would reset
      // during this wait and let a second full burst in.
      await wait(5 * interval + interval / 2);
      const second = admitted(await burst(limiter, specs, rpm));
      // A real-time backend also pays back what the bursts themselves took on a loaded machine: at most
      // one interval per `interval` ms that really passed. Never anything near a second full burst.
      const extra = slackMs > 0 ? Math.floor((performance.now() - started) / interval) - 5 : 0;
      assert.ok(
        second >= 5 && second <= 5 + Math.max(0, extra),
        `admitted ${second}, extra allowed ${extra}`,
      );
    });

    test('tpm reserves the tokens, and a settle that refunds lets the next request in', async () => {
      const { limiter } = await harness();
      const specs = [{ key: 'key:tokens', tpm: 1_000 }];
      const first = lease(await limiter.acquire(specs, 600));
      assert.deepEqual(first.reservation, { tokens: 600 });
      const refused = refusal(await limiter.acquire(specs, 600));
      assert.deepEqual(refused.limit, { key: 'key:tokens', kind: 'tpm' });
      assert.equal(refused.remaining, 400);
      // 200 tokens short at 60 ms a token.
      assert.ok(refused.retryAfterMs > 11_000 && refused.retryAfterMs <= 12_000, `${refused.retryAfterMs}`);
      await first.settle(100);
      lease(await limiter.acquire(specs, 600));
    });

    test('a settle above the reservation charges the difference', async () => {
      const { limiter } = await harness();
      const specs = [{ key: 'key:charge', tpm: 1_000 }];
      const first = lease(await limiter.acquire(specs, 100));
      await first.settle(1_000);
      refusal(await limiter.acquire(specs, 1));
    });

    test('settle and release are idempotent; a settle after a release still settles tokens once', async () => {
      const { limiter } = await harness();
      const specs = [{ key: 'key:idem', tpm: 1_000, concurrency: 2 }];
      const a = lease(await limiter.acquire(specs, 500));
      const b = lease(await limiter.acquire(specs, 500));
      await a.release();
      await a.release();
      // One slot freed, not two: b still holds the other. The tokens stay reserved after a release.
      const refusedTokens = refusal(await limiter.acquire(specs, 500));
      assert.equal(refusedTokens.limit.kind, 'tpm');
      await a.settle(0);
      await a.settle(0);
      const c = lease(await limiter.acquire(specs, 500));
      // 500 refunded once only: nothing is left.
      refusal(await limiter.acquire([{ key: 'key:idem', tpm: 1_000 }], 1));
      const third = refusal(await limiter.acquire([{ key: 'key:idem', concurrency: 2 }], 0));
      assert.equal(third.limit.kind, 'concurrency');
      await b.settle(500);
      await c.settle(500);
    });

    test('all or none: a limit that refuses leaves the others untouched', async () => {
      const { limiter } = await harness();
      // 60 ms a token: the real time a Redis run takes here pays back no token.
      const a = { key: 'team:alpha', rpm: 100, tpm: 1_000 };
      const b = { key: 'key:b', rpm: 1, concurrency: 1 };
      lease(await limiter.acquire([a, b], 100));
      const refused = await burst(limiter, [a, b], 20, 100);
      assert.equal(admitted(refused), 0);
      assert.ok(refused.every((d) => !d.admitted && 'limit' in d && d.limit.key === 'key:b'));
      // team:alpha gave exactly 100 tokens and one request to the one admission.
      lease(await limiter.acquire([{ key: a.key, tpm: a.tpm }], 900));
      refusal(await limiter.acquire([{ key: a.key, tpm: a.tpm }], 1));
      assert.equal(admitted(await burst(limiter, [{ key: a.key, rpm: a.rpm }], 120)), 99);
    });

    test('concurrency: slots are held until release or settle', async () => {
      const { limiter } = await harness();
      const specs = [{ key: 'target:p/x', concurrency: 2 }];
      const a = lease(await limiter.acquire(specs, 0));
      const b = lease(await limiter.acquire(specs, 0));
      const refused = refusal(await limiter.acquire(specs, 0));
      assert.deepEqual(refused.limit, { key: 'target:p/x', kind: 'concurrency' });
      assert.equal(refused.remaining, 0);
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000);
      await a.release();
      const c = lease(await limiter.acquire(specs, 0));
      refusal(await limiter.acquire(specs, 0));
      await b.settle(0);
      await c.settle(0);
      assert.equal(admitted(await burst(limiter, specs, 5)), 2);
    });

    test('a lease whose holder never returns frees its slot at expiry', async () => {
      const { limiter, wait } = await harness({ leaseTtlMs: 300 });
      const specs = [{ key: 'key:crashed', concurrency: 1 }];
      lease(await limiter.acquire(specs, 0));
      const refused = refusal(await limiter.acquire(specs, 0));
      assert.ok(refused.retryAfterMs <= 300);
      await wait(320);
      lease(await limiter.acquire(specs, 0));
    });

    test('a request larger than a tpm limit is too large, not refused for now', async () => {
      const { limiter } = await harness();
      const specs = [
        { key: 'model:m', rpm: 10 },
        { key: 'key:small', tpm: 1_000 },
      ];
      const decision = await limiter.acquire(specs, 1_001);
      assert.deepEqual(decision, {
        admitted: false,
        tooLarge: { key: 'key:small', kind: 'tpm', max: 1_000 },
      });
      // Nothing was taken: the rpm limit still has its full burst.
      lease(await limiter.acquire(specs, 1_000));
      assert.equal(admitted(await burst(limiter, [{ key: 'model:m', rpm: 10 }], 12)), 9);
    });

    test('retryAfterMs is the longest wait among the refusing limits, and waiting it admits', async () => {
      const { limiter, wait, slackMs } = await harness();
      const byRequests = { key: 'key:r', rpm };
      const byTokens = { key: 'team:t', tpm: 6_000 };
      assert.equal(admitted(await burst(limiter, [byRequests], rpm)), rpm);
      lease(await limiter.acquire([byTokens], 6_000));
      // rpm frees in 200 ms; 30 tokens at 10 ms a token take 300 ms.
      const refused = refusal(await limiter.acquire([byRequests, byTokens], 30));
      assert.deepEqual(refused.limit, { key: 'team:t', kind: 'tpm' });
      assert.ok(
        refused.retryAfterMs > 300 - slackMs - 50 && refused.retryAfterMs <= 300,
        `${refused.retryAfterMs}`,
      );
      await wait(refused.retryAfterMs + 5);
      lease(await limiter.acquire([byRequests, byTokens], 30));
    });

    test('invalid limits and token counts are rejected, not guessed', async () => {
      const { limiter } = await harness();
      await assert.rejects(limiter.acquire([{ key: 'k', rpm: 0 }], 1), RangeError);
      await assert.rejects(
        limiter.acquire(
          [
            { key: 'k', rpm: 1 },
            { key: 'k', rpm: 2 },
          ],
          1,
        ),
        RangeError,
      );
      await assert.rejects(limiter.acquire([{ key: 'k', tpm: 10 }], -1), RangeError);
    });
  });
}

/** A clock that starts 500 ms before a minute boundary and moves only when told. */
conformanceSuite('memory', async (options) => {
  let now = Math.ceil(Date.now() / 60_000) * 60_000 - 500;
  const limiter = new MemoryLimiter({ ...options, now: () => now });
  return { limiter, slackMs: 0, wait: async (ms) => void (now += ms) };
});

const skipRedis = skipWithoutRedis;
const runTag = `{sluice-test-${randomUUID()}}:`;

if (skipRedis === false) {
  conformanceSuite('redis', async (options) => {
    const limiter = await openRedisLimiter({
      ...options,
      url: redisUrl,
      prefix: `${runTag}${randomUUID()}:`,
    });
    return { limiter, slackMs: 30, wait: (ms) => sleep(ms) };
  });

  describe('redis limiter keys', () => {
    test('every key of a decision carries the hash tag, and idle keys expire', async () => {
      const prefix = `${runTag}keys:`;
      const limiter = await openRedisLimiter({ url: redisUrl, prefix });
      const redis = new Redis(redisUrl);
      try {
        lease(await limiter.acquire([{ key: 'key:a', rpm: 60, tpm: 6_000, concurrency: 3 }], 10));
        const keys = (await redis.keys(`${prefix.replace(/[{}]/g, '\\$&')}*`)).sort();
        assert.deepEqual(keys, [
          `${prefix}lim:concurrency:key:a`,
          `${prefix}lim:rpm:key:a`,
          `${prefix}lim:tpm:key:a`,
        ]);
        for (const key of keys) {
          const ttl = await redis.pttl(key);
          assert.ok(ttl > 0 && ttl <= 10 * 60_000 + 1_000, `${key} ttl ${ttl}`);
        }
      } finally {
        await limiter.close();
        redis.disconnect();
      }
    });

    test('a prefix without a hash tag is refused', async () => {
      await assert.rejects(openRedisLimiter({ url: redisUrl, prefix: 'sluice:' }), RangeError);
    });
  });

  after(async () => {
    const redis = new Redis(redisUrl);
    const pattern = `${runTag.replace(/[*?[\]\\{}]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
  });
} else {
  test('limiter conformance: redis', { skip: skipRedis }, () => undefined);
}

describe('redis limiter without a Redis', () => {
  test('opening fails fast instead of waiting', async () => {
    const started = Date.now();
    await assert.rejects(openRedisLimiter({ url: 'redis://127.0.0.1:1/0', connectTimeoutMs: 300 }));
    assert.ok(Date.now() - started < 2_000);
  });
});
