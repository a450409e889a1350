/** Idempotency keys in one process: a map with expiries, and waiters woken when a key settles. */
import type { Claim, IdempotencyStore, StoredResponse } from './idempotency-store.js';

interface Entry {
  fingerprint: string;
  response: StoredResponse | undefined;
  expiresAt: number;
}

/** Entries at most; the oldest go first beyond it (a bound on memory, not a policy: use Redis for more). */
const maxEntries = 100_000;

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly now: () => number = Date.now) {}

  async claim(scope: string, fingerprint: string, lockMs: number): Promise<Claim> {
    const at = this.now();
    const entry = this.entries.get(scope);
    if (entry === undefined || entry.expiresAt <= at) {
      this.entries.delete(scope);
      if (this.entries.size >= maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(scope, { fingerprint, response: undefined, expiresAt: at + lockMs });
      return { kind: 'owner' };
    }
    if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
    return entry.response === undefined ? { kind: 'running' } : { kind: 'done', response: entry.response };
  }

  async complete(scope: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    const entry = this.entries.get(scope);
    if (entry === undefined || entry.fingerprint !== fingerprint) return;
    entry.response = response;
    entry.expiresAt = this.now() + ttlMs;
    this.wake(scope);
  }

  async release(scope: string, fingerprint: string): Promise<void> {
    const entry = this.entries.get(scope);
    if (entry !== undefined && entry.fingerprint === fingerprint && entry.response === undefined) {
      this.entries.delete(scope);
    }
    this.wake(scope);
  }

  changed(scope: string, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(scope);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(scope, set);
      }
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(scope);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      set.add(done);
    });
  }

  async close(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
    this.entries.clear();
  }

  private wake(scope: string): void {
    const set = this.waiters.get(scope);
    if (set !== undefined) for (const wake of [...set]) wake();
  }
}
