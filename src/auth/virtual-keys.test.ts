import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configKeyId, digestOf, keyFromConfig, VirtualKeyStore } from './virtual-keys.js';

test('keys are verified by digest and carry their allow-list', () => {
  const store = new VirtualKeyStore([
    { name: 'app', key: 'sk-app-0123456789', team: 'alpha', models: ['m1'], priority: 'interactive' },
    { name: 'batch', key: 'sk-batch-0123456789', priority: 'batch' },
  ]);
  assert.equal(store.size, 2);
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

test('a key put again replaces its previous secret and settings; a removed key stops verifying', () => {
  const store = new VirtualKeyStore();
  const key = {
    ...keyFromConfig({ name: 'app', key: 'sk-one-0123456789', priority: 'interactive' }),
    id: 'key_1',
  };
  store.put(digestOf('sk-one-0123456789'), key);
  store.put(digestOf('sk-two-0123456789'), { ...key, priority: 'batch' });
  assert.equal(store.verify('sk-one-0123456789'), undefined);
  assert.equal(store.verify('sk-two-0123456789')?.priority, 'batch');
  assert.equal(store.size, 1);
  store.remove('key_1');
  assert.equal(store.verify('sk-two-0123456789'), undefined);
  assert.equal(store.size, 0);
});

test('config keys get ids derived from their names', () => {
  assert.equal(configKeyId('app'), configKeyId('app'));
  assert.notEqual(configKeyId('app'), configKeyId('app2'));
  assert.match(configKeyId('app'), /^cfg_[A-Za-z0-9_-]{16}$/);
});
