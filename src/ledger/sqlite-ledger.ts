/**
 * The embedded ledger (`database.url: embedded`): one SQLite file through Node's built-in node:sqlite, so
 * no native addon to build and no server to run. Node 24 loads it without a flag or a warning; 22.13-23.x
 * print an ExperimentalWarning once.
 *
 * node:sqlite is synchronous: every call blocks its thread for its duration. Batches, the one steady
 * write, therefore go to a worker thread with a connection of its own (sqlite-insert-worker.ts says why);
 * this thread's connection migrates and serves the admin API's reads, which are rare and not on the
 * request path. The worker starts with the first batch (after migrate(): it prepares its INSERT on the
 * table), and a worker that dies fails the batches it held, which LedgerWriter retries, on a new one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
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
import { entryFromDatabase, entryValues, normalizeRow } from './rows.js';
import { inTransaction, openSqlite } from './sqlite-connection.js';
import type { InsertAnswer, InsertMessage, InsertWorkerData } from './sqlite-insert-worker.js';

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
  private readonly busyTimeoutMs: number;
  private worker: Worker | undefined;
  private nextId = 0;
  /** Batches handed to the worker and not yet answered, by message id. */
  private readonly pending = new Map<number, Waiter>();

  constructor(options: SqliteLedgerOptions = {}) {
    const directory = options.directory ?? defaultDataDirectory;
    mkdirSync(directory, { recursive: true });
    this.path = join(directory, options.file ?? 'sluice.db');
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    this.db = openSqlite(this.path, this.busyTimeoutMs);
  }

  async migrate(): Promise<MigrationResult> {
    // IMMEDIATE takes the write lock at BEGIN: a second process migrating at the same moment waits here
    // (busy_timeout), then sees the versions the first one recorded.
    return inTransaction(this.db, () => {
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
    // Checked here, so a malformed row throws its TypeError to the caller rather than in the worker.
    const values = rows.map((row) => entryValues(normalizeRow(row)));
    if (values.length === 0) return 0;
    if (!this.db.isOpen) throw new Error('ledger: the store is closed');
    const worker = this.insertWorker();
    const id = this.nextId++;
    let settle!: Pick<Waiter, 'resolve' | 'reject'>;
    const answer = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
    this.pending.set(id, { ...settle, answer });
    // Referenced while a batch is out, so a process with nothing else to do still waits for it.
    if (this.pending.size === 1) worker.ref();
    worker.postMessage({ id, rows: values } satisfies InsertMessage);
    return answer;
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

  /** Waits for the batches already handed to the worker, then stops it and closes this connection. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending.values()].map((waiter) => waiter.answer));
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
    if (this.db.isOpen) this.db.close();
  }

  private insertWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./sqlite-insert-worker.js', import.meta.url), {
      workerData: { path: this.path, busyTimeoutMs: this.busyTimeoutMs } satisfies InsertWorkerData,
      // Not the parent's flags: some only apply to a main script (`--input-type` with `-e` makes a
      // worker fail at start), and the thread needs none.
      execArgv: [],
      // It holds one prepared statement and one batch at a time: a small heap bounds what it can grow
      // to. The thread itself (an isolate with node:sqlite) adds about 16 MB resident, which no limit
      // here shrinks: the price of keeping the disk off the event loop (docs/operations.md).
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    worker.unref();
    worker.on('message', (answer: InsertAnswer) => {
      const waiter = this.pending.get(answer.id);
      if (waiter === undefined) return;
      this.pending.delete(answer.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in answer) waiter.reject(new Error(answer.error));
      else waiter.resolve(answer.inserted);
    });
    // 'exit' follows 'error'. Until it fires this stays the worker, so every batch still waiting was
    // posted to it and is failed here; the next insert() starts a new one.
    let failure = '';
    worker.on('error', (error) => (failure = `: ${error.message}`));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      const waiters = [...this.pending.values()];
      this.pending.clear();
      const error = new Error(`ledger insert worker exited (code ${code})${failure}`);
      for (const waiter of waiters) waiter.reject(error);
    });
    this.worker = worker;
    return worker;
  }
}

interface Waiter {
  resolve: (inserted: number) => void;
  reject: (error: Error) => void;
  answer: Promise<number>;
}
