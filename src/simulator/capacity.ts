// The simulated upstream's finite serving capacity (--max-concurrency): how many requests it works on at
// once, and the line the others wait in before their latency clock starts.

/**
 * A counting semaphore with a first-come-first-served wait list, modelling a provider with a fixed number
 * of serving slots: under overload its requests do not fail, they wait, and their time to first token grows
 * with the line ahead of them (what an overloaded upstream looks like to a gateway's adaptive limit).
 *
 * Guarantees (tested): at most `limit()` starts are outstanding (started and not released) while the limit
 * is above 0, and 0 means no limit; waiters start in arrival order; each release function acts once, however
 * often it is called; releasing a waiter that has not started removes it from the line, and it never starts.
 *
 * `limit` is read at every decision, so a changed option applies from the next request on; call `drain()`
 * after raising it to start the waiters the new room admits.
 */
export class ServingCapacity {
  /** Told how long each request waited in line (0 when a slot was free): the bench's view of the line. */
  onStart: ((waitedMs: number) => void) | undefined;
  private serving = 0;
  // A Set keeps insertion order and deletes in O(1): FIFO, and a waiter whose client leaves costs no scan.
  private readonly line = new Set<() => void>();

  constructor(private readonly limit: () => number) {}

  /** Requests holding a slot. */
  get inService(): number {
    return this.serving;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.line.size;
  }

  /**
   * Calls `start` once a slot is free: at once when one is (and no one waits ahead), else when its turn
   * comes. Returns the release: it frees the slot of a started request, or takes a waiting one out of line.
   * A waiter's `start` runs inside the release that made room (another request's), so it must handle its
   * own errors; one that throws anyway keeps its slot until released, as any started request does.
   */
  acquire(start: () => void): () => void {
    let state: 'waiting' | 'serving' | 'released' = 'waiting';
    const since = performance.now();
    const begin = (): void => {
      state = 'serving';
      this.serving++;
      this.onStart?.(performance.now() - since);
      start();
    };
    const release = (): void => {
      const was = state;
      state = 'released';
      if (was === 'serving') {
        this.serving--;
        this.drain();
      } else if (was === 'waiting') {
        this.line.delete(begin);
      }
    };
    if (this.line.size === 0 && this.hasRoom()) begin();
    else this.line.add(begin);
    return release;
  }

  /** Starts waiters, oldest first, while there is room. */
  drain(): void {
    while (this.line.size > 0 && this.hasRoom()) {
      const next = this.line.values().next().value as () => void;
      this.line.delete(next);
      next();
    }
  }

  private hasRoom(): boolean {
    const limit = this.limit();
    return limit <= 0 || this.serving < limit;
  }
}
