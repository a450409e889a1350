/**
 * The in-process cooldown store: a Map from target to epoch ms, expired lazily when read. It is the whole
 * store for the memory backend and the local copy the Redis backend reads from.
 *
 * Hand-written on purpose: a TTL-cache library would add a timer or a linked list per entry for what is a
 * Map lookup and a compare on the routing hot path.
 */
import type { CooldownStore } from './cooldowns.js';

/**
 * The Map holds one entry per target that ever got a 429, a set bounded by the targets of the fleet's
 * configs. Entries that are never read again would stay, so a write that finds the Map this large first
 * drops the expired ones: O(entries), once per this many writes at most.
 */
const sweepAbove = 1_024;

export class MemoryCooldownStore implements CooldownStore {
  private readonly untilByTarget = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  reachable(): boolean {
    return true;
  }

  until(target: string): number {
    const untilMs = this.untilByTarget.get(target);
    if (untilMs === undefined) return 0;
    if (untilMs > this.now()) return untilMs;
    this.untilByTarget.delete(target);
    return 0;
  }

  set(target: string, untilMs: number): void {
    this.extend(target, untilMs);
  }

  /**
   * Extends the target's cooldown; true when it changed, which is when the Redis store has news to share.
   * A cooldown already over is ignored (it would only cost a write and a message).
   */
  extend(target: string, untilMs: number): boolean {
    if (!(untilMs > this.now())) return false; // also rejects NaN
    const current = this.untilByTarget.get(target);
    if (current !== undefined && current >= untilMs) return false;
    if (current === undefined && this.untilByTarget.size >= sweepAbove) this.sweep();
    this.untilByTarget.set(target, untilMs);
    return true;
  }

  /** The live cooldowns, for pushing local knowledge back to Redis after an outage. */
  *entries(): IterableIterator<[target: string, untilMs: number]> {
    const now = this.now();
    for (const entry of this.untilByTarget) if (entry[1] > now) yield entry;
  }

  close(): Promise<void> {
    this.untilByTarget.clear();
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.now();
    for (const [target, untilMs] of this.untilByTarget) if (untilMs <= now) this.untilByTarget.delete(target);
  }
}
