import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, test } from 'node:test';
import { sampleRow } from '../../test/helpers/ledger-rows.js';
import type { LedgerRow } from './ledger.js';
import { SqliteLedger } from './sqlite-ledger.js';

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

async function openStore(): Promise<SqliteLedger> {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-sqlite-ledger-'));
  directories.push(directory);
  const store = new SqliteLedger({ directory });
  await store.migrate();
  return store;
}

const row = (i: number): LedgerRow => ({ ...sampleRow, request_id: `r-${i}`, ts: 1_767_225_600_000 + i });

test('a batch commits off the main thread: the event loop turns while it is written', async () => {
  const store = await openStore();
  try {
    let turned = false;
    setImmediate(() => (turned = true));
    // Run on this thread, the transaction would finish inside insert() and its promise settle before
    // any immediate could run.
    const inserted = await store.insert(Array.from({ length: 2_000 }, (_, i) => row(i)));
    assert.equal(inserted, 2_000);
    assert.equal(turned, true);
    const page = await store.requests({ limit: 5 });
    assert.equal(page.data.length, 5);
    // The second batch repeats the first's ids: skipped, not counted.
    assert.equal(await store.insert([row(0), row(1), row(2_000)]), 1);
  } finally {
    await store.close();
  }
});

test('a batch the worker cannot commit rejects with the reason, and the next batch commits', async () => {
  const store = await openStore();
  const other = new DatabaseSync(store.path);
  try {
    assert.equal(await store.insert([row(1)]), 1);
    other.exec('ALTER TABLE ledger_requests RENAME TO ledger_requests_away');
    await assert.rejects(store.insert([row(2)]), /no such table|ledger_requests/);
    other.exec('ALTER TABLE ledger_requests_away RENAME TO ledger_requests');
    assert.equal(await store.insert([row(2)]), 1);
  } finally {
    other.close();
    await store.close();
  }
});

test('a malformed row throws on the caller, not in the worker; a closed store refuses batches', async () => {
  const store = await openStore();
  await assert.rejects(store.insert([{ ...row(1), status: Number.NaN }]), TypeError);
  assert.equal(await store.insert([]), 0);
  await store.close();
  await assert.rejects(store.insert([row(3)]), /closed/);
});

test('close() waits for the batches already handed to the worker', async () => {
  const store = await openStore();
  const pending = store.insert(Array.from({ length: 3_000 }, (_, i) => row(i)));
  await store.close();
  assert.equal(await pending, 3_000);
  const reopened = new SqliteLedger({ directory: store.path.replace(/\/sluice\.db$/, '') });
  try {
    const spend = await reopened.spend({ groupBy: 'key' });
    assert.equal(spend.data[0]?.requests, 3_000);
  } finally {
    await reopened.close();
  }
});

test('a worker that dies fails the batches it held, and the next batch gets a new worker', async () => {
  const store = await openStore();
  try {
    assert.equal(await store.insert([row(1)]), 1);
    // The private worker, reached into on purpose: nothing public can kill it.
    const worker = (store as unknown as { worker: { terminate(): Promise<number> } }).worker;
    const held = store.insert(Array.from({ length: 20_000 }, (_, i) => row(100 + i)));
    await worker.terminate();
    await assert.rejects(held, /ledger insert worker exited/);
    assert.equal(await store.insert([row(2)]), 1);
  } finally {
    await store.close();
  }
});
