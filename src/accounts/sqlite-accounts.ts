/**
 * The account store in the embedded database: the ledger's SQLite file (`<database.path>/sluice.db`)
 * through a connection of its own, in WAL mode like the ledger's, so other processes on the same file see
 * the changes (account-sync.ts polls them).
 *
 * node:sqlite is synchronous: each program (sql-accounts.ts) runs to its end inside one
 * BEGIN IMMEDIATE … COMMIT without yielding to the event loop. Admin writes are rare and take well under a
 * millisecond; the request path never comes here (it reads keys from memory).
 */
import { join } from 'node:path';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { openSqlite } from '../ledger/sqlite-connection.js';
import { SqlAccountStore, type Program, type Row, type SqlRunner } from './sql-accounts.js';

class SqliteRunner implements SqlRunner {
  constructor(private readonly db: DatabaseSync) {}

  async read<T>(program: Program<T>): Promise<T> {
    return this.drive(program);
  }

  async write<T>(program: Program<T>): Promise<T> {
    // IMMEDIATE: the write lock at BEGIN, so another process's writer waits (busy_timeout) rather than
    // failing halfway through.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = this.drive(program);
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private drive<T>(program: Program<T>): T {
    let step = program.next();
    while (step.done !== true) {
      const rows = this.db.prepare(step.value.sql).all(...(step.value.params as SQLInputValue[])) as Row[];
      step = program.next(rows);
    }
    return step.value;
  }
}

export function openSqliteAccountStore(directory: string): SqlAccountStore {
  return new SqlAccountStore(new SqliteRunner(openSqlite(join(directory, 'sluice.db'), 5_000)));
}
