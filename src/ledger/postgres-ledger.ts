/**
 * The ledger in PostgreSQL (`database.url: postgres://…`), through `pg` (node-postgres, pure JS) and a
 * small pool: only LedgerWriter's loop and the admin API use it, never the request path.
 *
 * Every table lives in one schema (`schema`, default `public`), chosen per connection with
 * `search_path`, so the SQL is the same as SQLite's and tests isolate themselves in a schema of their own.
 *
 * Failure: connecting and each query have deadlines (`connectTimeoutMs`, `queryTimeoutMs`), so an
 * unreachable or hung server fails a batch, which LedgerWriter keeps and retries, instead of stalling its
 * loop forever. An idle connection that breaks is reported to `onError` (without that listener `pg`'s
 * pool would raise it as an uncaught error and end the process).
 */
import pg from 'pg';
import type {
  LedgerRow,
  LedgerStore,
  MigrationResult,
  RequestPage,
  RequestQuery,
  SpendQuery,
  SpendResult,
} from './ledger.js';
import { pgTransaction } from './pg-transaction.js';
import { migrationRecord, migrationsTable, pendingMigrations } from './migrations.js';
import { numberPlaceholders, requestPage, requestsSql, spendGroups, spendSql } from './queries.js';
import { columns, entryFromDatabase, entryValues, normalizeRow } from './rows.js';
import type { LedgerEntry } from './ledger.js';

export interface PostgresLedgerOptions {
  /** `postgres://user:password@host:port/database` (any libpq URL `pg` accepts). */
  url: string;
  /** Created by migrate() when missing. Lower-case letters, digits and `_`. Default `public`. */
  schema?: string | undefined;
  /** Default 4. */
  poolSize?: number | undefined;
  /** Default 5 s. */
  connectTimeoutMs?: number | undefined;
  /** Default 30 s. */
  queryTimeoutMs?: number | undefined;
  /** Errors of idle pooled connections. Default: a process warning. */
  onError?: ((error: Error) => void) | undefined;
}

/**
 * 18 columns a row: 1,000 rows stay far below the protocol's 65,535 parameters a statement, and one
 * statement a chunk keeps round trips few.
 */
const rowsPerStatement = 1_000;

export class PostgresLedger implements LedgerStore {
  readonly schema: string;
  private readonly pool: pg.Pool;

  constructor(options: PostgresLedgerOptions) {
    this.schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) {
      throw new TypeError(`ledger: schema "${this.schema}" must be lower-case letters, digits and _`);
    }
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      query_timeout: options.queryTimeoutMs ?? 30_000,
      application_name: 'sluice-ledger',
      options: `-c search_path=${this.schema}`,
    });
    const onError =
      options.onError ?? ((error: Error) => process.emitWarning(`ledger database: ${error.message}`));
    this.pool.on('error', onError);
  }

  async migrate(): Promise<MigrationResult> {
    return this.transaction(async (client) => {
      // Held until COMMIT: a second process migrating the same schema waits here, then finds the versions
      // this one recorded. Keyed by schema, so test runs in their own schemas never wait on each other.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `sluice.ledger.migrate:${this.schema}`,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(migrationsTable);
      const applied = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const versions: number[] = [];
      for (const migration of pendingMigrations(applied.rows.map((row) => Number(row.version)))) {
        for (const statement of migration.statements) await client.query(statement);
        await client.query(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          migrationRecord(migration),
        );
        versions.push(migration.version);
      }
      return { applied: versions };
    });
  }

  async insert(rows: readonly LedgerRow[]): Promise<number> {
    const entries = rows.map(normalizeRow);
    if (entries.length === 0) return 0;
    if (entries.length <= rowsPerStatement) {
      // One statement is its own transaction: no BEGIN/COMMIT round trips.
      return (await this.pool.query(insertStatement(entries))).rowCount ?? 0;
    }
    return this.transaction(async (client) => {
      let inserted = 0;
      for (let start = 0; start < entries.length; start += rowsPerStatement) {
        const chunk = entries.slice(start, start + rowsPerStatement);
        inserted += (await client.query(insertStatement(chunk))).rowCount ?? 0;
      }
      return inserted;
    });
  }

  async spend(query: SpendQuery): Promise<SpendResult> {
    const sql = spendSql(query);
    const result = await this.pool.query(numberPlaceholders(sql.text), sql.values);
    return { data: spendGroups(result.rows) };
  }

  async requests(query: RequestQuery): Promise<RequestPage> {
    const sql = requestsSql(query);
    const result = await this.pool.query(numberPlaceholders(sql.text), sql.values);
    return requestPage(result.rows.map(entryFromDatabase), sql.limit);
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return pgTransaction(this.pool, work);
  }
}

/** A multi-row INSERT; duplicates, in the batch or already stored, are skipped (the first write wins). */
function insertStatement(entries: readonly LedgerEntry[]): pg.QueryConfig {
  const values: (string | number | null)[] = [];
  const tuples = entries.map((entry) => {
    const base = values.length;
    values.push(...entryValues(entry));
    return `(${columns.map((_, i) => `$${base + i + 1}`).join(', ')})`;
  });
  return {
    text:
      `INSERT INTO ledger_requests (${columns.join(', ')}) VALUES ${tuples.join(', ')}` +
      ' ON CONFLICT (request_id) DO NOTHING',
    values,
  };
}
