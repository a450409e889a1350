/**
 * The embedded ledger (`database.url: embedded`): one SQLite file through Node's built-in node:sqlite, so
 * no native addon to build and no server to run. Node 24 loads it without a flag or a warning; 22.13-23.x
 * print an ExperimentalWarning once.
 *
 * node:sqlite is synchronous: every call blocks the event loop for its duration. That is acceptable
 * because only LedgerWriter's background loop writes (one transaction of at most a batch, a few
 * milliseconds) and reads come from the admin API, not the request path. WAL mode lets readers run while
 * a batch commits, and `synchronous = NORMAL` (the WAL recommendation) keeps commits cheap: a power loss
 * may undo the last commits, a process crash cannot (https://www.sqlite.org/pragma.html#pragma_synchronous).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type {
  LedgerRow,
  LedgerStore,
  MigrationResult,
  RequestPage,
  RequestQuery,
  SpendQuery,
  SpendResult,
} from './ledger.js';
import { migrationRecord, migrationsTable, pendingMigrations } from './migrations.js';
import { requestPage, requestsSql, spendGroups, spendSql } from './queries.js';
import { columns, entryFromDatabase, entryValues, normalizeRow } from './rows.js';

export interface SqliteLedgerOptions {
  /** Created when missing. Default `./data`. */
  directory?: string | undefined;
  /** Default `sluice.db`. */
  file?: string | undefined;
  /** How long a write waits for another process's write lock before failing. Default 5 s. */
  busyTimeoutMs?: number | undefined;
}

export const defaultDataDirectory = './data';

export class SqliteLedger implements LedgerStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  /** Compiled on first use: it needs the table, so it waits for migrate(). */
  private insertRow: StatementSync | undefined;

  constructor(options: SqliteLedgerOptions = {}) {
    const directory = options.directory ?? defaultDataDirectory;
    mkdirSync(directory, { recursive: true });
    this.path = join(directory, options.file ?? 'sluice.db');
    this.db = new DatabaseSync(this.path);
    this.db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5_000)}`);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
  }

  async migrate(): Promise<MigrationResult> {
    // IMMEDIATE takes the write lock at BEGIN: a second process migrating at the same moment waits here
    // (busy_timeout), then sees the versions the first one recorded.
    return this.transaction(() => {
      this.db.exec(migrationsTable);
      const applied = this.db
        .prepare('SELECT version FROM schema_migrations')
        .all()
        .map((row) => Number(row['version']));
      const record = this.db.prepare(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
      );
      const versions: number[] = [];
      for (const migration of pendingMigrations(applied)) {
        for (const statement of migration.statements) this.db.exec(statement);
        record.run(...migrationRecord(migration));
        versions.push(migration.version);
      }
      return { applied: versions };
    });
  }

  async insert(rows: readonly LedgerRow[]): Promise<number> {
    const entries = rows.map(normalizeRow);
    if (entries.length === 0) return 0;
    const statement = this.insertStatement();
    return this.transaction(() => {
      let inserted = 0;
      for (const entry of entries) inserted += Number(statement.run(...entryValues(entry)).changes);
      return inserted;
    });
  }

  async spend(query: SpendQuery): Promise<SpendResult> {
    const sql = spendSql(query);
    return { data: spendGroups(this.db.prepare(sql.text).all(...sql.values)) };
  }

  async requests(query: RequestQuery): Promise<RequestPage> {
    const sql = requestsSql(query);
    const rows = this.db.prepare(sql.text).all(...sql.values);
    return requestPage(rows.map(entryFromDatabase), sql.limit);
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private insertStatement(): StatementSync {
    this.insertRow ??= this.db.prepare(
      `INSERT INTO ledger_requests (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})` +
        ' ON CONFLICT (request_id) DO NOTHING',
    );
    return this.insertRow;
  }

  private transaction<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
