/**
 * Who may call the gateway and under which limits and budgets: the virtual keys and teams of the config,
 * and, when the admin API is on (`server.admin_key` and a database), those made through it. The request
 * path reads only this in-memory view (authenticate, admit, charge); the admin API and the poller of
 * account-sync.ts change it, so a new key, a changed limit or a revocation takes effect without a
 * restart: at once on the replica that made it, within `database.sync_interval_ms` on the others.
 *
 * Config entries win over nothing and lose to nothing: the admin API cannot change them (409), and
 * refuses a name the config already uses, so the two sources never disagree about a key or a team.
 */
import type { Budget, KeyRecord, Limits, TeamRecord } from '../accounts/account-store.js';
import type { Config } from '../config/schema.js';
import { VirtualKeyStore, type VirtualKey } from './virtual-keys.js';

export interface Team {
  name: string;
  source: 'config' | 'api';
  limits: Limits | undefined;
  budget: Budget | undefined;
}

export function keyFromRecord(record: KeyRecord): VirtualKey {
  const s = record.settings;
  return {
    id: record.id,
    name: record.name,
    source: 'api',
    team: s.team,
    models: s.models === undefined ? undefined : new Set(s.models),
    priority: s.priority,
    limits: s.limits,
    budget: s.budget,
    endUserBudget: s.end_user_budget,
  };
}

export class Directory {
  readonly keys: VirtualKeyStore;
  private readonly teams = new Map<string, Team>();
  /** The revision of each API-made key and team applied here, so an older read never undoes a newer one. */
  private readonly revisions = new Map<string, number>();

  /** `managed`: the admin API can add keys, so having none now does not make the gateway open. */
  constructor(
    config: Pick<Config, 'keys' | 'teams'>,
    readonly managed: boolean,
  ) {
    this.keys = new VirtualKeyStore(config.keys);
    for (const t of config.teams)
      this.teams.set(t.name, { name: t.name, source: 'config', limits: t.limits, budget: t.budget });
  }

  /**
   * No keys configured and no admin API means open access (the demo). With the admin API a gateway is
   * never open, even with no key yet: revoking the last key must not let everyone in.
   */
  get open(): boolean {
    return !this.managed && this.keys.size === 0;
  }

  team(name: string): Team | undefined {
    return this.teams.get(name);
  }

  allTeams(): IterableIterator<Team> {
    return this.teams.values();
  }

  /** Applies a key as stored: a live one is put (replacing its previous settings), a revoked one removed. */
  applyKey(record: KeyRecord): void {
    if (!this.newer(`key\u0000${record.id}`, record.revision)) return;
    if (record.revokedAt !== undefined) this.keys.remove(record.id);
    else this.keys.put(record.digest, keyFromRecord(record));
  }

  applyTeam(record: TeamRecord): void {
    if (this.teams.get(record.name)?.source === 'config') return;
    if (!this.newer(`team\u0000${record.name}`, record.revision)) return;
    if (record.deletedAt !== undefined) this.teams.delete(record.name);
    else
      this.teams.set(record.name, {
        name: record.name,
        source: 'api',
        limits: record.settings.limits,
        budget: record.settings.budget,
      });
  }

  private newer(id: string, revision: number): boolean {
    const seen = this.revisions.get(id);
    if (seen !== undefined && seen >= revision) return false;
    this.revisions.set(id, revision);
    return true;
  }
}
