import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualKeyStore } from './virtual-keys.js';

test('keys are verified by digest and carry their allow-list', () => {
  const store = new VirtualKeyStore([
    { name: 'app', key: 'sk-app-0123456789', team: 'alpha', models: ['m1'], priority: 'interactive' },
    { name: 'batch', key: 'sk-batch-0123456789', priority: 'batch' },
  ]);
  assert.equal(store.open, false);
  const app = store.verify('sk-app-0123456789');
  assert.equal(app?.name, 'app');
  assert.equal(app?.team, 'alpha');
  assert.ok(app?.models?.has('m1'));
  assert.equal(store.verify('sk-batch-0123456789')?.models, undefined);
  assert.equal(store.verify('sk-app-012345678'), undefined);
  assert.equal(store.verify(''), undefined);
});

test('the store keeps no secret in memory, only digests', () => {
  const store = new VirtualKeyStore([{ name: 'app', key: 'sk-very-secret-value', priority: 'interactive' }]);
  const dump = JSON.stringify([...(store as unknown as { byDigest: Map<string, unknown> }).byDigest]);
  assert.ok(!dump.includes('sk-very-secret-value'));
});

test('no keys means open access', () => {
  assert.equal(new VirtualKeyStore([]).open, true);
});
