/**
 * The ledger's schema, as numbered migrations shared by both backends: the SQL below is the common
 * subset of SQLite and PostgreSQL (BIGINT, INTEGER, TEXT, DOUBLE PRECISION, partial indexes), so there is
 * one schema, not two that drift apart.
 *
 * Each backend applies the versions missing from `schema_migrations` inside one transaction that first
 * takes a lock (SQLite: BEGIN IMMEDIATE, the database's write lock; PostgreSQL: an advisory transaction
 * lock), so two processes starting at once apply each version exactly once: the second waits, then finds
 * nothing left to do. Migrations are only ever appended and only ever additive (new tables, columns with
 * defaults, indexes), so a Sluice one version behind still runs against a schema one version ahead,
 * which is what a rolling deploy needs; versions this build does not know are left alone.
 *
 * Time is epoch milliseconds in a BIGINT rather than a timestamp type: the same value, comparison and
 * index on both backends, and no time zone to get wrong.
 */

export interface Migration {
  version: number;
  name: string;
  /** Run in order, in the migration's transaction. */
  statements: readonly string[];
}

export const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger requests',
    statements: [
      `CREATE TABLE ledger_requests (
        request_id TEXT PRIMARY KEY,
        ts BIGINT NOT NULL,
        key_name TEXT NOT NULL,
        team TEXT,
        end_user TEXT,
        model TEXT NOT NULL,
        provider TEXT,
        target_model TEXT,
        status INTEGER NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cached_input_tokens BIGINT NOT NULL DEFAULT 0,
        cost_usd DOUBLE PRECISION NOT NULL,
        latency_ms INTEGER NOT NULL,
        ttft_ms INTEGER,
        trace_id TEXT,
        error_kind TEXT,
        attempts INTEGER NOT NULL
      )`,
      // The request log's order and cursor, and the time range of every spend query.
      'CREATE INDEX ledger_requests_ts ON ledger_requests (ts, request_id)',
      // One per group_by / filter the admin API offers, each followed by ts for its range.
      'CREATE INDEX ledger_requests_key_ts ON ledger_requests (key_name, ts)',
      'CREATE INDEX ledger_requests_team_ts ON ledger_requests (team, ts)',
      'CREATE INDEX ledger_requests_model_ts ON ledger_requests (model, ts)',
      'CREATE INDEX ledger_requests_end_user_ts ON ledger_requests (end_user, ts) WHERE end_user IS NOT NULL',
      'CREATE INDEX ledger_requests_trace ON ledger_requests (trace_id) WHERE trace_id IS NOT NULL',
    ],
  },
  {
    version: 2,
    name: 'virtual keys and teams',
    statements: [
      // One counter for every change to keys and teams: each write takes the next value, and replicas read
      // what changed since the value they last saw (accounts/account-sync.ts). In PostgreSQL the row lock
      // of the UPDATE orders writers, so revisions become visible in order.
      'CREATE TABLE accounts_revision (id INTEGER PRIMARY KEY, revision BIGINT NOT NULL)',
      'INSERT INTO accounts_revision (id, revision) VALUES (1, 0)',
      `CREATE TABLE virtual_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        hint TEXT NOT NULL,
        team TEXT,
        settings TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revision BIGINT NOT NULL
      )`,
      // A secret is never reused, not even after its key is revoked; a name is unique among live keys.
      'CREATE UNIQUE INDEX virtual_keys_digest ON virtual_keys (digest)',
      'CREATE UNIQUE INDEX virtual_keys_live_name ON virtual_keys (name) WHERE revoked_at IS NULL',
      'CREATE INDEX virtual_keys_revision ON virtual_keys (revision)',
      'CREATE INDEX virtual_keys_team ON virtual_keys (team) WHERE revoked_at IS NULL',
      `CREATE TABLE teams (
        name TEXT PRIMARY KEY,
        settings TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        deleted_at BIGINT,
        revision BIGINT NOT NULL
      )`,
      'CREATE INDEX teams_revision ON teams (revision)',
    ],
  },
];

/** The migrations not yet applied, in version order. */
export function pendingMigrations(applied: Iterable<number>): Migration[] {
  const done = new Set(applied);
  return migrations.filter((migration) => !done.has(migration.version));
}

/** The row that records a migration as applied: version, name, applied_at. */
export function migrationRecord(migration: Migration, now = Date.now()): [number, string, number] {
  return [migration.version, migration.name, now];
}
