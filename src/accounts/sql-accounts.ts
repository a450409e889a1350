/**
 * The account store over SQL, shared by SQLite and PostgreSQL: the statements are the common subset of
 * both (written with `?` placeholders; the PostgreSQL executor numbers them), so the rules live once and
 * each backend only says how to run a statement and a transaction (sqlite-accounts.ts,
 * postgres-accounts.ts). The tables come from the ledger's migrations (ledger/migrations.ts, version 2),
 * which run when the ledger opens, before this store is used.
 *
 * Every write is one transaction that first takes the next revision (`UPDATE accounts_revision`): in
 * PostgreSQL that row lock makes concurrent writers wait for each other, so the uniqueness checks that
 * follow see every committed key, and revisions commit in order (a reader that has seen revision n has
 * seen every revision below it). SQLite has one writer at a time anyway.
 */
import {
  AccountConflict,
  type AccountChanges,
  type AccountStore,
  type KeyRecord,
  type KeySettings,
  type NewKey,
  type TeamRecord,
  type TeamSettings,
} from './account-store.js';

export type Row = Record<string, unknown>;

/** One statement of a program; the program gets its rows back (none for writes without RETURNING). */
export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/**
 * An operation as a generator of statements: the rules are written once and each backend drives them.
 * SQLite runs a program synchronously inside BEGIN IMMEDIATE … COMMIT, so a transaction never spans an
 * await (node:sqlite blocks while it waits for a lock: a transaction left open across an await could be
 * waited on by another connection of the same process, which would then block the very event loop the
 * holder needs to finish). PostgreSQL runs it statement by statement on one pooled client.
 */
export type Program<T> = Generator<Statement, T, Row[]>;

export interface SqlRunner {
  /** Runs `program` outside a transaction (each statement on its own). */
  read<T>(program: Program<T>): Promise<T>;
  /** Runs `program` in one transaction: committed when it returns, rolled back when it throws. */
  write<T>(program: Program<T>): Promise<T>;
  close(): Promise<void>;
}

const q = (sql: string, ...params: unknown[]): Statement => ({ sql, params });

const keyColumns = 'id, name, digest, hint, team, settings, created_at, updated_at, revoked_at, revision';
const teamColumns = 'name, settings, created_at, updated_at, deleted_at, revision';

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function keyOf(row: Row): KeyRecord {
  const stored = JSON.parse(String(row['settings'])) as Omit<KeySettings, 'team'>;
  const team = row['team'];
  return {
    id: String(row['id']),
    name: String(row['name']),
    digest: String(row['digest']),
    hint: String(row['hint']),
    settings: { ...stored, ...(typeof team === 'string' ? { team } : {}) },
    createdAt: Number(row['created_at']),
    updatedAt: Number(row['updated_at']),
    revokedAt: optionalNumber(row['revoked_at']),
    revision: Number(row['revision']),
  };
}

function teamOf(row: Row): TeamRecord {
  return {
    name: String(row['name']),
    settings: JSON.parse(String(row['settings'])) as TeamSettings,
    createdAt: Number(row['created_at']),
    updatedAt: Number(row['updated_at']),
    deletedAt: optionalNumber(row['deleted_at']),
    revision: Number(row['revision']),
  };
}

/** The settings column: everything but the team, which has a column of its own (team_in_use). */
function keySettingsJson(settings: KeySettings): string {
  const { team: _team, ...rest } = settings;
  return JSON.stringify(rest);
}

function* nextRevision(): Program<number> {
  const rows = yield q(
    'UPDATE accounts_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision',
  );
  return Number(rows[0]?.['revision']);
}

function* keyById(id: string): Program<KeyRecord | undefined> {
  const rows = yield q(`SELECT ${keyColumns} FROM virtual_keys WHERE id = ?`, id);
  return rows[0] === undefined ? undefined : keyOf(rows[0]);
}

function* liveTeam(name: string): Program<TeamRecord | undefined> {
  const rows = yield q(`SELECT ${teamColumns} FROM teams WHERE name = ? AND deleted_at IS NULL`, name);
  return rows[0] === undefined ? undefined : teamOf(rows[0]);
}

export class SqlAccountStore implements AccountStore {
  constructor(private readonly db: SqlRunner) {}

  createKey(key: NewKey, now = Date.now()): Promise<KeyRecord> {
    return this.db.write(
      (function* () {
        const revision = yield* nextRevision();
        const clash = yield q(
          'SELECT name, revoked_at FROM virtual_keys WHERE digest = ? OR (name = ? AND revoked_at IS NULL)',
          key.digest,
          key.name,
        );
        for (const row of clash) {
          if (row['name'] === key.name && row['revoked_at'] === null)
            throw new AccountConflict('name_taken', `a key named "${key.name}" exists`);
          throw new AccountConflict('key_exists', 'this secret belongs to another key (or a revoked one)');
        }
        yield q(
          `INSERT INTO virtual_keys (${keyColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
          key.id,
          key.name,
          key.digest,
          key.hint,
          key.settings.team ?? null,
          keySettingsJson(key.settings),
          now,
          now,
          revision,
        );
        return { ...key, createdAt: now, updatedAt: now, revokedAt: undefined, revision };
      })(),
    );
  }

  updateKey(id: string, settings: KeySettings, now = Date.now()): Promise<KeyRecord | undefined> {
    return this.db.write(
      (function* () {
        const revision = yield* nextRevision();
        const existing = yield* keyById(id);
        if (existing === undefined) return undefined;
        if (existing.revokedAt !== undefined)
          throw new AccountConflict('revoked', `key ${id} is revoked; create a new one`);
        yield q(
          'UPDATE virtual_keys SET team = ?, settings = ?, updated_at = ?, revision = ? WHERE id = ?',
          settings.team ?? null,
          keySettingsJson(settings),
          now,
          revision,
          id,
        );
        return { ...existing, settings, updatedAt: now, revision };
      })(),
    );
  }

  revokeKey(id: string, now = Date.now()): Promise<KeyRecord | undefined> {
    return this.db.write(
      (function* () {
        const existing = yield* keyById(id);
        if (existing === undefined || existing.revokedAt !== undefined) return existing;
        const revision = yield* nextRevision();
        yield q(
          'UPDATE virtual_keys SET revoked_at = ?, updated_at = ?, revision = ? WHERE id = ?',
          now,
          now,
          revision,
          id,
        );
        return { ...existing, revokedAt: now, updatedAt: now, revision };
      })(),
    );
  }

  getKey(id: string): Promise<KeyRecord | undefined> {
    return this.db.read(keyById(id));
  }

  listKeys(options: { includeRevoked?: boolean } = {}): Promise<KeyRecord[]> {
    const where = options.includeRevoked === true ? '' : ' WHERE revoked_at IS NULL';
    return this.db.read(
      (function* () {
        const rows = yield q(`SELECT ${keyColumns} FROM virtual_keys${where} ORDER BY created_at, id`);
        return rows.map(keyOf);
      })(),
    );
  }

  createTeam(name: string, settings: TeamSettings, now = Date.now()): Promise<TeamRecord> {
    return this.db.write(
      (function* () {
        const revision = yield* nextRevision();
        const existing = yield q('SELECT deleted_at FROM teams WHERE name = ?', name);
        const row = existing[0];
        if (row !== undefined && row['deleted_at'] === null)
          throw new AccountConflict('team_exists', `a team named "${name}" exists`);
        // A deleted team's row is taken over: the name is the team's identity in spend and limits.
        yield q(
          row === undefined
            ? 'INSERT INTO teams (settings, created_at, updated_at, deleted_at, revision, name) VALUES (?, ?, ?, NULL, ?, ?)'
            : 'UPDATE teams SET settings = ?, created_at = ?, updated_at = ?, deleted_at = NULL, revision = ? WHERE name = ?',
          JSON.stringify(settings),
          now,
          now,
          revision,
          name,
        );
        return { name, settings, createdAt: now, updatedAt: now, deletedAt: undefined, revision };
      })(),
    );
  }

  updateTeam(name: string, settings: TeamSettings, now = Date.now()): Promise<TeamRecord | undefined> {
    return this.db.write(
      (function* () {
        const revision = yield* nextRevision();
        const existing = yield* liveTeam(name);
        if (existing === undefined) return undefined;
        yield q(
          'UPDATE teams SET settings = ?, updated_at = ?, revision = ? WHERE name = ?',
          JSON.stringify(settings),
          now,
          revision,
          name,
        );
        return { ...existing, settings, updatedAt: now, revision };
      })(),
    );
  }

  deleteTeam(name: string, now = Date.now()): Promise<TeamRecord | undefined> {
    return this.db.write(
      (function* () {
        // The revision first: its row lock orders this after any key write in flight (PostgreSQL), so
        // the count below sees a key made for this team a moment ago.
        const revision = yield* nextRevision();
        const existing = yield* liveTeam(name);
        if (existing === undefined) return undefined;
        const members = yield q(
          'SELECT COUNT(*) AS n FROM virtual_keys WHERE team = ? AND revoked_at IS NULL',
          name,
        );
        const n = Number(members[0]?.['n'] ?? 0);
        if (n > 0)
          throw new AccountConflict(
            'team_in_use',
            `${n} live key(s) belong to team "${name}"; move or revoke them first`,
          );
        yield q(
          'UPDATE teams SET deleted_at = ?, updated_at = ?, revision = ? WHERE name = ?',
          now,
          now,
          revision,
          name,
        );
        return { ...existing, deletedAt: now, updatedAt: now, revision };
      })(),
    );
  }

  getTeam(name: string): Promise<TeamRecord | undefined> {
    return this.db.read(liveTeam(name));
  }

  listTeams(): Promise<TeamRecord[]> {
    return this.db.read(
      (function* () {
        const rows = yield q(
          `SELECT ${teamColumns} FROM teams WHERE deleted_at IS NULL ORDER BY created_at, name`,
        );
        return rows.map(teamOf);
      })(),
    );
  }

  changesSince(revision: number): Promise<AccountChanges> {
    return this.db.read(
      (function* () {
        // The counter first: rows committed after it are read too (harmlessly, again next time), and
        // none committed before it can be missed.
        const counter = yield q('SELECT revision FROM accounts_revision WHERE id = 1');
        const keys = yield q(
          `SELECT ${keyColumns} FROM virtual_keys WHERE revision > ? ORDER BY revision`,
          revision,
        );
        const teams = yield q(
          `SELECT ${teamColumns} FROM teams WHERE revision > ? ORDER BY revision`,
          revision,
        );
        return {
          keys: keys.map(keyOf),
          teams: teams.map(teamOf),
          revision: Math.max(revision, Number(counter[0]?.['revision'] ?? 0)),
        };
      })(),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
