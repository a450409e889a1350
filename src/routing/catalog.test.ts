import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderAdapter } from '../providers/provider.js';
import { pickTarget, type ModelRoute } from './catalog.js';

const timeouts = { connect_ms: 1, ttft_ms: 1, idle_ms: 1, total_ms: 1 };
const fake = (name: string): ProviderAdapter => ({ name }) as ProviderAdapter;

test('weighted picking follows the weights', () => {
  const route: ModelRoute = {
    name: 'm',
    created: 0,
    totalWeight: 4,
    targets: [
      { provider: fake('a'), model: 'x', weight: 3, timeouts },
      { provider: fake('b'), model: 'x', weight: 1, timeouts },
    ],
  };
  let seed = 0;
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 1000; i++) {
    const target = pickTarget(route, () => (seed++ % 1000) / 1000);
    counts[target.provider.name as 'a' | 'b']++;
  }
  assert.deepEqual(counts, { a: 750, b: 250 });
});
