/**
 * Virtual keys and teams made through the admin API (`/admin/keys`, `/admin/teams`), kept in the
 * gateway's database beside the ledger: embedded SQLite or PostgreSQL, one interface and one conformance
 * suite (test/accounts-conformance.test.ts) for both.
 *
 * Secrets are never stored: a key is kept as the SHA-256 digest of its secret and a short hint for
 * people to recognise it. Nothing is ever deleted: a revoked key keeps its row (its name may be given to a
 * new key, its secret never again), a deleted team is marked so, and every change takes the next value of
 * one revision counter, so that each replica can read what changed since it last looked
 * (account-sync.ts) and apply revocations too.
 */

export type Priority = 'interactive' | 'batch';

export interface Limits {
  rpm?: number | undefined;
  tpm?: number | undefined;
  concurrency?: number | undefined;
}

export interface Budget {
  usd: number;
  period: 'daily' | 'weekly' | 'monthly' | 'total';
  soft_usd?: number | undefined;
}

/** What an admin sets on a key, as in a config key (config/schema.ts), without name and secret. */
export interface KeySettings {
  team?: string | undefined;
  models?: string[] | undefined;
  limits?: Limits | undefined;
  budget?: Budget | undefined;
  end_user_budget?: Budget | undefined;
  priority: Priority;
}

export interface TeamSettings {
  limits?: Limits | undefined;
  budget?: Budget | undefined;
}

export interface KeyRecord {
  id: string;
  name: string;
  /** SHA-256 of the secret, base64 (auth/virtual-keys.ts digestOf). */
  digest: string;
  /** e.g. `sk-…Xy9z`: enough to tell keys apart, never enough to use one. */
  hint: string;
  settings: KeySettings;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  revokedAt: number | undefined;
  revision: number;
}

export interface TeamRecord {
  name: string;
  settings: TeamSettings;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | undefined;
  revision: number;
}

export interface NewKey {
  id: string;
  name: string;
  digest: string;
  hint: string;
  settings: KeySettings;
}

/** Everything changed after a revision; `revision` is where the next read should start. */
export interface AccountChanges {
  keys: KeyRecord[];
  teams: TeamRecord[];
  revision: number;
}

/** A write that would break a rule of the store: the admin API's 409. */
export class AccountConflict extends Error {
  constructor(
    readonly code: 'name_taken' | 'key_exists' | 'team_exists' | 'team_in_use' | 'revoked',
    message: string,
  ) {
    super(message);
    this.name = 'AccountConflict';
  }
}

export interface AccountStore {
  /** Rejects with AccountConflict `name_taken` (a live key has the name) or `key_exists` (the secret). */
  createKey(key: NewKey, now?: number): Promise<KeyRecord>;
  /** Replaces the settings; undefined when there is no such key; AccountConflict `revoked` when revoked. */
  updateKey(id: string, settings: KeySettings, now?: number): Promise<KeyRecord | undefined>;
  /** Revokes for good; revoking a revoked key changes nothing. Undefined when there is no such key. */
  revokeKey(id: string, now?: number): Promise<KeyRecord | undefined>;
  /** Revoked keys too. */
  getKey(id: string): Promise<KeyRecord | undefined>;
  /** Oldest first. */
  listKeys(options?: { includeRevoked?: boolean }): Promise<KeyRecord[]>;
  /** Rejects with AccountConflict `team_exists` while a team of that name exists. */
  createTeam(name: string, settings: TeamSettings, now?: number): Promise<TeamRecord>;
  updateTeam(name: string, settings: TeamSettings, now?: number): Promise<TeamRecord | undefined>;
  /** Rejects with AccountConflict `team_in_use` while a live key names the team. */
  deleteTeam(name: string, now?: number): Promise<TeamRecord | undefined>;
  /** Live teams only. */
  getTeam(name: string): Promise<TeamRecord | undefined>;
  listTeams(): Promise<TeamRecord[]>;
  /** Keys and teams (revoked and deleted ones included) whose revision is above `revision`. */
  changesSince(revision: number): Promise<AccountChanges>;
  close(): Promise<void>;
}
