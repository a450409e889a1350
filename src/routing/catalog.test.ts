import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../config/load.js';
import type { ProviderAdapter } from '../providers/provider.js';
import { Catalog } from './catalog.js';

const fake = (name: string): ProviderAdapter => ({ name }) as ProviderAdapter;

test('the catalog resolves targets with their health, cost and the model’s routing policy', () => {
  const config = validateConfig({
    providers: [
      { name: 'a', kind: 'simulator' },
      { name: 'b', kind: 'simulator', timeouts: { ttft_ms: 1234 } },
    ],
    models: [
      {
        name: 'm',
        strategy: 'cost',
        price: { input_per_mtok: 1, output_per_mtok: 2 },
        targets: [
          { provider: 'a', model: 'x', weight: 3 },
          {
            provider: 'b',
            model: 'y',
            price: { input_per_mtok: 0.1, output_per_mtok: 0.2 },
            limits: { rpm: 5 },
          },
        ],
        fallbacks: ['n'],
        context_fallbacks: ['n'],
        hedging: { enabled: true, threshold_ms: 500 },
      },
      { name: 'n', targets: [{ provider: 'a', model: 'x' }], hedging: { enabled: false } },
    ],
  });
  const adapters = new Map(
    config.providers.map((p) => [p.name, { adapter: fake(p.name), timeouts: p.timeouts }]),
  );
  const catalog = new Catalog(config.models, adapters, 7, config.routing);
  const m = catalog.get('m');
  assert.ok(m !== undefined);
  assert.equal(m.strategy, 'cost');
  assert.deepEqual(
    m.targets.map((t) => [t.id, t.weight, t.cost, t.timeouts.ttft_ms]),
    [
      ['a/x', 3, 3, 30_000],
      ['b/y', 1, 0.30000000000000004, 1234],
    ],
  );
  assert.equal(m.targets[0]?.breaker.state, 'closed');
  assert.equal(m.targets[1]?.limiter.tryAcquire(1) !== undefined, true);
  assert.deepEqual(m.fallbacks, ['n']);
  assert.deepEqual(m.contextFallbacks, ['n']);
  assert.deepEqual(m.policyFallbacks, []);
  assert.deepEqual(m.hedging, { thresholdMs: 500 });
  assert.equal(catalog.get('n')?.hedging, undefined);
  // The same provider/model under two models is two targets: each model keeps its own health.
  assert.equal([...catalog.targets()].length, 3);
});

test('admission.adaptive_concurrency reaches each target; batch gets a lower limit of its own unless batch_tolerance is the tolerance', (t) => {
  t.mock.timers.enable({ apis: ['Date'] });
  const build = (adaptive: Record<string, unknown>) => {
    const config = validateConfig({
      providers: [{ name: 'a', kind: 'simulator' }],
      models: [{ name: 'm', targets: [{ provider: 'a', model: 'x' }] }],
      admission: { adaptive_concurrency: { enabled: true, initial: 8, min: 2, ...adaptive } },
    });
    const adapters = new Map(
      config.providers.map((p) => [p.name, { adapter: fake(p.name), timeouts: p.timeouts }]),
    );
    const catalog = new Catalog(config.models, adapters, 7, config.routing, config.admission);
    const target = catalog.get('m')?.targets[0];
    assert.ok(target?.concurrency !== undefined && target.slots !== undefined);
    return target.concurrency;
  };
  assert.throws(() => build({ batch_tolerance: 0.9 }), /admission\.adaptive_concurrency\.batch_tolerance/);
  // The default batch tolerance (1.02) gives two limits; one at the tolerance, one limit.
  const one = build({ batch_tolerance: 1.25 });
  const two = build({});
  // A baseline of 100 ms, then TTFT 10% above it at full demand for 7 round trips: within the limit's
  // tolerance (1.25), above the batch limit's (a TTFT that stays up for longer while the batch limit
  // shrinks is taken as a new baseline: adaptive-limit.ts, stepBatch).
  for (const [count, ttft] of [
    [8, 100],
    [28, 110],
  ] as const) {
    for (let i = 0; i < count; i++) {
      t.mock.timers.tick(25);
      for (const limit of [one, two]) limit.onSample(ttft, limit.limit);
    }
  }
  assert.ok(one.limit > 8 && two.limit > 8, `limits grew: ${one.limit}, ${two.limit}`);
  assert.equal(one.batchLimit, one.limit);
  assert.ok(two.batchLimit < 8, `the batch limit shrank: ${two.batchLimit}`);
});
