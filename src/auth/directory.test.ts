import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KeyRecord, TeamRecord } from '../accounts/account-store.js';
import { Directory } from './directory.js';
import { digestOf } from './virtual-keys.js';

function key(revision: number, overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_1',
    name: 'app',
    digest: digestOf('sk-app-secret-0123456'),
    hint: '…3456',
    settings: { priority: 'interactive', limits: { rpm: revision } },
    createdAt: 0,
    updatedAt: 0,
    revokedAt: undefined,
    revision,
    ...overrides,
  };
}

function team(name: string, revision: number, overrides: Partial<TeamRecord> = {}): TeamRecord {
  return {
    name,
    settings: { budget: { usd: revision, period: 'total' } },
    createdAt: 0,
    updatedAt: 0,
    deletedAt: undefined,
    revision,
    ...overrides,
  };
}

test('a key read late never undoes a newer change; a revocation removes it', () => {
  const directory = new Directory({ keys: [], teams: [] }, true);
  directory.applyKey(key(3));
  directory.applyKey(key(2));
  assert.deepEqual(directory.keys.verify('sk-app-secret-0123456')?.limits, { rpm: 3 });
  directory.applyKey(key(4, { revokedAt: 10 }));
  assert.equal(directory.keys.verify('sk-app-secret-0123456'), undefined);
  // The older live version, read after the revocation, stays ignored.
  directory.applyKey(key(3));
  assert.equal(directory.keys.verify('sk-app-secret-0123456'), undefined);
});

test('teams of the API come and go; a config team is never replaced', () => {
  const directory = new Directory({ keys: [], teams: [{ name: 'ops', limits: { rpm: 1 } }] }, true);
  directory.applyTeam(team('ops', 1));
  assert.deepEqual(directory.team('ops')?.limits, { rpm: 1 });
  assert.equal(directory.team('ops')?.source, 'config');
  directory.applyTeam(team('beta', 2));
  assert.deepEqual(directory.team('beta')?.budget, { usd: 2, period: 'total' });
  directory.applyTeam(team('beta', 3, { deletedAt: 5 }));
  assert.equal(directory.team('beta'), undefined);
});

test('open only without keys and without the admin API', () => {
  assert.equal(new Directory({ keys: [], teams: [] }, false).open, true);
  assert.equal(new Directory({ keys: [], teams: [] }, true).open, false);
  const configured = new Directory(
    { keys: [{ name: 'a', key: 'sk-a-0123456789', priority: 'interactive' }], teams: [] },
    false,
  );
  assert.equal(configured.open, false);
});
