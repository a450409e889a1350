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
