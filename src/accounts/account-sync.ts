/**
 * Keeps a replica's Directory in step with the account store: reads everything once at start (before the
 * gateway serves), then, every `intervalMs`, what changed since the last revision it saw. One indexed
 * query per table per interval, whatever the number of keys, and the request path never waits on it.
 *
 * Polling rather than a notification channel: it works the same on SQLite (several processes on one
 * file) and PostgreSQL, needs no Redis, and a missed notification can never leave a revoked key alive
 * forever. The cost is the interval: a revocation made on another replica is honoured there within
 * `intervalMs` (the replica that made it applies it at once). While the database is unreachable the last
 * view stays in force (logged once), and the next successful read catches up on everything.
 */
import type { Logger } from 'pino';
import type { Directory } from '../auth/directory.js';
import type { AccountChanges, AccountStore } from './account-store.js';

export class AccountSync {
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: AccountStore,
    private readonly directory: Directory,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Applies changes read elsewhere (at start, before the gateway existed). */
  apply(changes: AccountChanges): void {
    for (const team of changes.teams) this.directory.applyTeam(team);
    for (const key of changes.keys) this.directory.applyKey(key);
    this.revision = Math.max(this.revision, changes.revision);
  }

  start(): void {
    this.schedule();
  }

  /** One read of what changed; resolves when applied. Concurrent calls share one read. */
  poll(): Promise<void> {
    this.running ??= (async () => {
      try {
        this.apply(await this.store.changesSince(this.revision));
        if (this.failing) {
          this.failing = false;
          this.logger.info('accounts database reachable again: keys and teams are in step');
        }
      } catch (error) {
        if (!this.failing) {
          this.failing = true;
          this.logger.warn(
            { err: error },
            'accounts database unreachable: keys and teams stay as last read until it answers',
          );
        }
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.poll().then(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
