/**
 * What every connection to the embedded database shares: the ledger's on the main thread (migrations,
 * the admin API's reads), the insert worker's (sqlite-insert-worker.ts, every batch) and the account
 * store's (accounts/sqlite-accounts.ts). WAL mode lets the reader run while
 * a batch commits, and `synchronous = NORMAL` (the WAL recommendation) keeps commits cheap: a power loss
 * may undo the last commits, a process crash cannot (https://www.sqlite.org/pragma.html#pragma_synchronous).
 */
import { DatabaseSync } from 'node:sqlite';
import { columns } from './rows.js';

export function openSqlite(path: string, busyTimeoutMs: number): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  return db;
}

/** A request_id already stored is skipped: a retried batch repeats the rows a failed attempt committed. */
export const insertSql =
  `INSERT INTO ledger_requests (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})` +
  ' ON CONFLICT (request_id) DO NOTHING';

/** One batch, one transaction (IMMEDIATE: the write lock at BEGIN, waiting busy_timeout for it). */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
