/**
 * One contract for both budget stores: MemoryBudgetStore, and RedisBudgetStore on the real Redis at
 * 127.0.0.1:6379 (own key prefix per run, deleted after; skipped locally without Redis, failing in CI).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { BudgetDecision, BudgetSpec, BudgetStore } from '../src/spend/budgets/budget-store.js';
import { MemoryBudgetStore } from '../src/spend/budgets/memory-budgets.js';
import { periodAt } from '../src/spend/budgets/periods.js';
import { openLeasedBudgetStore } from '../src/spend/budgets/leased-budgets.js';
import { openRedisBudgetStore } from '../src/spend/budgets/redis-budgets.js';
import { deleteKeysWithPrefix, redisUrl, skipWithoutRedis } from './helpers/redis.js';

const prefix = `{sluice-test-${randomUUID()}}:`;

after(() => deleteKeysWithPrefix(prefix));

const admittedOf = (decisions: readonly BudgetDecision[]): number =>
  decisions.filter((d) => d.admitted).length;

function suite(name: string, open: () => Promise<BudgetStore>, skip: string | false = false): void {
  describe(`budget store conformance: ${name}`, { skip, timeout: 30_000 }, () => {
    const stores: BudgetStore[] = [];
    const make = async (): Promise<BudgetStore> => {
      const store = await open();
      stores.push(store);
      return store;
    };
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    const spec = (usd: number, period: BudgetSpec['period'] = 'total'): BudgetSpec => ({
      subject: `key:${randomUUID()}`,
      usd,
      period,
    });

    test('concurrent reservations never exceed the budget: exactly floor(budget / cost) admitted', async () => {
      const store = await make();
      const budget = spec(1);
      // 2,000 requests of $0.003 at once against $1.00: 333 fit.
      const decisions = await Promise.all(
        Array.from({ length: 2_000 }, () => store.reserve([budget], 0.003)),
      );
      assert.equal(admittedOf(decisions), 333);
      const state = await store.state(budget);
      assert.ok(Math.abs(state.reservedUsd - 0.999) < 1e-9, `reserved ${state.reservedUsd}`);
      const refused = decisions.find((d) => !d.admitted);
      assert.ok(refused !== undefined && !refused.admitted);
      assert.equal(refused.exceeded.subject, budget.subject);
      assert.equal(refused.exceeded.limitUsd, 1);
    });

    test('settling charges the actual cost and frees the rest of the reservation', async () => {
      const store = await make();
      const budget = spec(0.01);
      const first = await store.reserve([budget], 0.008);
      assert.ok(first.admitted);
      assert.equal((await store.reserve([budget], 0.008)).admitted, false, 'reserved, not yet spent');
      await first.hold.settle(0.002);
      await first.hold.settle(0.5); // only the first settle counts
      const state = await store.state(budget);
      assert.ok(Math.abs(state.spentUsd - 0.002) < 1e-12, `spent ${state.spentUsd}`);
      assert.equal(state.reservedUsd, 0);
      assert.equal((await store.reserve([budget], 0.008)).admitted, true);
    });

    test('all or none: a request refused by its team takes nothing from its key', async () => {
      const store = await make();
      const key = spec(10);
      const team = spec(0.001);
      const refused = await store.reserve([key, team], 0.002);
      assert.ok(!refused.admitted);
      assert.equal(refused.exceeded.subject, team.subject);
      assert.equal((await store.state(key)).reservedUsd, 0);
    });

    test('amounts are exact in nano-dollars: a thousand micro-dollar charges add up to exactly $0.001', async () => {
      const store = await make();
      const budget = spec(1);
      const holds = [];
      for (let i = 0; i < 1_000; i++) {
        const d = await store.reserve([budget], 0.000_001);
        assert.ok(d.admitted);
        holds.push(d.hold);
      }
      await Promise.all(holds.map((h) => h.settle(0.000_001)));
      assert.equal((await store.state(budget)).spentUsd, 0.001);
    });

    test('a new period starts from zero (UTC days)', async () => {
      const store = await make();
      const budget = spec(0.01, 'daily');
      // 23:59 UTC today: Redis expires a period's counters a day after it ends, so the instant must be
      // recent (a fixed date would have its keys expire at once once that day is past).
      const day = 86_400_000;
      const lastMinute = Math.floor(Date.now() / day) * day + day - 60_000;
      const d = await store.reserve([budget], 0.01, lastMinute);
      assert.ok(d.admitted);
      await d.hold.settle(0.01);
      assert.equal((await store.reserve([budget], 0.001, lastMinute + 30_000)).admitted, false);
      assert.equal((await store.reserve([budget], 0.001, lastMinute + 61_000)).admitted, true, 'next day');
    });

    test('a zero budget admits only free requests; bad input is a RangeError', async () => {
      const store = await make();
      const budget = spec(0);
      assert.equal((await store.reserve([budget], 0)).admitted, true);
      assert.equal((await store.reserve([budget], 0.000_000_001)).admitted, false);
      await assert.rejects(store.reserve([budget], -1), RangeError);
      await assert.rejects(store.reserve([budget], Number.NaN), RangeError);
      await assert.rejects(store.reserve([budget, budget], 0), RangeError);
    });
  });
}

suite('memory', async () => new MemoryBudgetStore());
suite('redis', () => openRedisBudgetStore({ url: redisUrl, prefix }), skipWithoutRedis);
suite('redis with leases', () => openLeasedBudgetStore({ url: redisUrl, prefix }), skipWithoutRedis);

test('periods: UTC day, ISO week from Monday, calendar month, total', () => {
  const at = Date.UTC(2026, 11, 3, 15, 0, 0); // Thursday 3 December 2026
  assert.deepEqual(periodAt('daily', at), { id: 'd2026-12-03', endsAt: Date.UTC(2026, 11, 4) });
  assert.deepEqual(periodAt('weekly', at), { id: 'w2026-11-30', endsAt: Date.UTC(2026, 11, 7) });
  assert.deepEqual(periodAt('monthly', at), { id: 'm2026-12', endsAt: Date.UTC(2027, 0, 1) });
  assert.deepEqual(periodAt('total', at), { id: 'total', endsAt: Number.POSITIVE_INFINITY });
  // A Sunday belongs to the week that began the Monday before.
  assert.equal(periodAt('weekly', Date.UTC(2026, 11, 6, 23)).id, 'w2026-11-30');
  assert.equal(periodAt('monthly', Date.UTC(2026, 11, 31, 23, 59)).endsAt, Date.UTC(2027, 0, 1));
});
