/**
 * One contract for both account stores (the admin API's keys and teams): the same cases run against the
 * embedded SQLite file and a real PostgreSQL (a schema of its own, dropped afterwards). Each case opens
 * two stores on the same database, as two replicas would, so what one writes the other must read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AccountConflict, type AccountStore, type NewKey } from '../src/accounts/account-store.js';
import { openPostgresAccountStore } from '../src/accounts/postgres-accounts.js';
import { openSqliteAccountStore } from '../src/accounts/sqlite-accounts.js';
import { digestOf } from '../src/auth/virtual-keys.js';
import { SqliteLedger } from '../src/ledger/index.js';
import { PostgresLedger } from '../src/ledger/postgres-ledger.js';
import { dropSchema, postgresUrl, skipWithoutPostgres, testSchema } from './helpers/postgres.js';

interface Backend {
  /** A new store (its own connection) on the same migrated database. */
  open(): AccountStore;
  destroy(): Promise<void>;
}

const sqlite = async (): Promise<Backend> => {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-accounts-'));
  // The tables are the ledger's migrations (version 2): migrated as the gateway does, by the ledger.
  const ledger = new SqliteLedger({ directory });
  await ledger.migrate();
  await ledger.close();
  return {
    open: () => openSqliteAccountStore(directory),
    destroy: async () => rmSync(directory, { recursive: true, force: true }),
  };
};

const postgres = async (): Promise<Backend> => {
  const schema = testSchema('accounts_test');
  const ledger = new PostgresLedger({ url: postgresUrl, schema });
  await ledger.migrate();
  await ledger.close();
  return {
    open: () => openPostgresAccountStore({ url: postgresUrl, schema }),
    destroy: () => dropSchema(schema),
  };
};

function newKey(name: string, secret = `sk-test-${name}-0123456789`): NewKey {
  return {
    id: `key_${name}`,
    name,
    digest: digestOf(secret),
    hint: '…6789',
    settings: {
      priority: 'interactive',
      team: 'alpha',
      limits: { rpm: 10 },
      budget: { usd: 5, period: 'daily' },
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: AccountConflict['code']): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof AccountConflict && error.code === code);
}

function suite(name: string, make: () => Promise<Backend>, skip: string | false): void {
  describe(`account store: ${name}`, { skip }, () => {
    async function withStores(work: (a: AccountStore, b: AccountStore) => Promise<void>): Promise<void> {
      const backend = await make();
      const a = backend.open();
      const b = backend.open();
      try {
        await work(a, b);
      } finally {
        await a.close();
        await b.close();
        await backend.destroy();
      }
    }

    test('a key is stored with its settings, read back by id and listed; no secret is stored', () =>
      withStores(async (a, b) => {
        const created = await a.createKey(newKey('app'), 1_000);
        assert.equal(created.revision, 1);
        const read = await b.getKey('key_app');
        assert.deepEqual(read, created);
        assert.deepEqual(read?.settings, newKey('app').settings);
        assert.deepEqual(
          (await b.listKeys()).map((k) => k.name),
          ['app'],
        );
        assert.equal(await b.getKey('key_none'), undefined);
      }));

    test('names are unique among live keys, secrets for ever', () =>
      withStores(async (a, b) => {
        await a.createKey(newKey('app'));
        await rejectsWith(
          b.createKey({ ...newKey('app', 'sk-other-secret-0123'), id: 'key_2' }),
          'name_taken',
        );
        await rejectsWith(
          b.createKey({ ...newKey('other', 'sk-test-app-0123456789'), id: 'key_3' }),
          'key_exists',
        );
        await b.revokeKey('key_app');
        // The name is free again; the revoked key's secret is not.
        await b.createKey({ ...newKey('app', 'sk-new-secret-0123'), id: 'key_4' });
        await rejectsWith(
          a.createKey({ ...newKey('x', 'sk-test-app-0123456789'), id: 'key_5' }),
          'key_exists',
        );
        assert.deepEqual(
          (await a.listKeys()).map((k) => k.id),
          ['key_4'],
        );
        assert.deepEqual((await a.listKeys({ includeRevoked: true })).map((k) => k.id).sort(), [
          'key_4',
          'key_app',
        ]);
      }));

    test('concurrent creates of one name from two replicas: exactly one wins', () =>
      withStores(async (a, b) => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? a : b).createKey({
              ...newKey('race', `sk-race-secret-${i}-0123`),
              id: `key_race_${i}`,
            }),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results)
          if (r.status === 'rejected')
            assert.ok(
              r.reason instanceof AccountConflict && r.reason.code === 'name_taken',
              String(r.reason),
            );
      }));

    test('updates replace the settings; a revoked key cannot be updated; revoking twice changes nothing', () =>
      withStores(async (a, b) => {
        await a.createKey(newKey('app'), 1_000);
        const updated = await b.updateKey('key_app', { priority: 'batch', models: ['m'] }, 2_000);
        assert.deepEqual(updated?.settings, { priority: 'batch', models: ['m'] });
        assert.deepEqual((await a.getKey('key_app'))?.settings, { priority: 'batch', models: ['m'] });
        assert.equal((await a.getKey('key_app'))?.updatedAt, 2_000);
        assert.equal(await a.updateKey('key_none', { priority: 'batch' }), undefined);
        const revoked = await a.revokeKey('key_app', 3_000);
        assert.equal(revoked?.revokedAt, 3_000);
        const again = await b.revokeKey('key_app', 4_000);
        assert.equal(again?.revokedAt, 3_000);
        assert.equal(again?.revision, revoked?.revision);
        await rejectsWith(a.updateKey('key_app', { priority: 'interactive' }), 'revoked');
        assert.equal(await a.revokeKey('key_none'), undefined);
      }));

    test('teams: create, update, delete; a team with live keys cannot be deleted; a name can be reused', () =>
      withStores(async (a, b) => {
        await a.createTeam('alpha', { budget: { usd: 10, period: 'monthly' } });
        await rejectsWith(b.createTeam('alpha', {}), 'team_exists');
        assert.deepEqual((await b.getTeam('alpha'))?.settings, { budget: { usd: 10, period: 'monthly' } });
        await b.updateTeam('alpha', { limits: { rpm: 5 } });
        assert.deepEqual((await a.getTeam('alpha'))?.settings, { limits: { rpm: 5 } });
        await a.createKey(newKey('app'));
        await rejectsWith(b.deleteTeam('alpha'), 'team_in_use');
        await a.revokeKey('key_app');
        const deleted = await b.deleteTeam('alpha');
        assert.notEqual(deleted?.deletedAt, undefined);
        assert.equal(await a.getTeam('alpha'), undefined);
        assert.equal(await a.deleteTeam('alpha'), undefined);
        assert.equal(await a.updateTeam('alpha', {}), undefined);
        assert.deepEqual(await a.listTeams(), []);
        const again = await a.createTeam('alpha', { limits: { tpm: 100 } });
        assert.equal(again.deletedAt, undefined);
        assert.deepEqual(
          (await b.listTeams()).map((t) => [t.name, t.settings]),
          [['alpha', { limits: { tpm: 100 } }]],
        );
      }));

    test('changesSince gives every change after a revision, revocations and deletions included', () =>
      withStores(async (a, b) => {
        const start = await b.changesSince(0);
        assert.deepEqual(start, { keys: [], teams: [], revision: 0 });
        await a.createTeam('alpha', {});
        await a.createKey(newKey('one'));
        await a.createKey({ ...newKey('two', 'sk-two-secret-0123'), id: 'key_two' });
        const first = await b.changesSince(0);
        assert.equal(first.revision, 3);
        assert.deepEqual(
          first.keys.map((k) => k.id),
          ['key_one', 'key_two'],
        );
        assert.deepEqual(
          first.teams.map((t) => t.name),
          ['alpha'],
        );
        await a.revokeKey('key_one');
        await a.updateKey('key_two', { priority: 'batch', team: 'alpha' });
        const next = await b.changesSince(first.revision);
        assert.equal(next.revision, 5);
        assert.deepEqual(
          next.keys.map((k) => [k.id, k.revokedAt !== undefined, k.settings.priority]),
          [
            ['key_one', true, 'interactive'],
            ['key_two', false, 'batch'],
          ],
        );
        assert.deepEqual(next.teams, []);
        assert.deepEqual(await b.changesSince(next.revision), { keys: [], teams: [], revision: 5 });
      }));
  });
}

suite('sqlite', sqlite, false);
suite('postgresql', postgres, skipWithoutPostgres);
