import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Directory } from '../auth/directory.js';
import { digestOf } from '../auth/virtual-keys.js';
import type { AccountChanges, AccountStore } from './account-store.js';
import { AccountSync } from './account-sync.js';

const record = {
  id: 'key_1',
  name: 'app',
  digest: digestOf('sk-app-secret-0123456'),
  hint: '…3456',
  settings: { priority: 'interactive' as const },
  createdAt: 0,
  updatedAt: 0,
  revokedAt: undefined,
  revision: 1,
};

test('polls from the last revision; an unreachable store keeps the last view and is caught up later', async () => {
  const asked: number[] = [];
  let answer: () => Promise<AccountChanges> = async () => ({ keys: [record], teams: [], revision: 1 });
  const store = {
    changesSince: async (revision: number) => {
      asked.push(revision);
      return answer();
    },
  } as unknown as AccountStore;
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const directory = new Directory({ keys: [], teams: [] }, true);
  const sync = new AccountSync(store, directory, 60_000, logger);
  await sync.poll();
  assert.equal(directory.keys.verify('sk-app-secret-0123456')?.name, 'app');
  answer = async () => {
    throw new Error('connection refused');
  };
  await sync.poll();
  await sync.poll();
  assert.equal(directory.keys.verify('sk-app-secret-0123456')?.name, 'app');
  assert.equal(lines.filter((l) => l.includes('unreachable')).length, 1);
  answer = async () => ({ keys: [{ ...record, revokedAt: 5, revision: 2 }], teams: [], revision: 2 });
  await sync.poll();
  assert.equal(directory.keys.verify('sk-app-secret-0123456'), undefined);
  assert.deepEqual(asked, [0, 1, 1, 1]);
  assert.equal(lines.filter((l) => l.includes('reachable again')).length, 1);
  await sync.close();
});
