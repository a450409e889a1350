import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCooldownStore } from './memory-cooldowns.js';
import { escapeGlob, parseCooldownMessage } from './redis-cooldowns.js';

test('extend reports whether the cooldown changed (what the Redis store shares)', () => {
  let now = 1_000;
  const store = new MemoryCooldownStore(() => now);
  assert.equal(store.extend('t', 2_000), true);
  assert.equal(store.extend('t', 2_000), false, 'same value: nothing new');
  assert.equal(store.extend('t', 1_500), false, 'shorter: nothing new');
  assert.equal(store.extend('t', 2_500), true);
  assert.equal(store.extend('u', 1_000), false, 'already over');
  now = 2_500;
  assert.equal(store.until('t'), 0);
});

test('entries lists the live cooldowns only', () => {
  let now = 0;
  const store = new MemoryCooldownStore(() => now);
  store.set('short', 10);
  store.set('long', 100);
  now = 50;
  assert.deepEqual([...store.entries()], [['long', 100]]);
});

test('a Map full of expired entries is swept on the next new target', () => {
  let now = 0;
  const store = new MemoryCooldownStore(() => now);
  for (let i = 0; i < 1_024; i++) store.set(`old-${i}`, 10);
  store.set('live', 1_000);
  now = 20;
  store.set('new', 1_000);
  assert.deepEqual([...store.entries()].map(([target]) => target).sort(), ['live', 'new']);
  // The sweep kept the live one's value.
  assert.equal(store.until('live'), 1_000);
});

test('close forgets everything', async () => {
  const store = new MemoryCooldownStore(() => 0);
  store.set('t', 10);
  await store.close();
  assert.equal(store.until('t'), 0);
});

test('cooldown messages: the number first, so a target may hold spaces', () => {
  assert.deepEqual(parseCooldownMessage('1700000000000 openai/gpt 4o key a'), {
    untilMs: 1_700_000_000_000,
    target: 'openai/gpt 4o key a',
  });
  assert.equal(parseCooldownMessage('garbage'), undefined);
  assert.equal(parseCooldownMessage(' t'), undefined);
  assert.equal(parseCooldownMessage('soon t'), undefined);
});

test('a SCAN prefix matches itself only', () => {
  assert.equal(escapeGlob('{sluice}:cooldown:'), '{sluice}:cooldown:');
  assert.equal(escapeGlob('a*b?[c]\\'), 'a\\*b\\?\\[c\\]\\\\');
});
