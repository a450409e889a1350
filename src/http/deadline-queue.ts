/**
 * Many deadlines of one duration, watched by one interval instead of a timer each.
 *
 * Every request arms a deadline that almost never fires (its body arrives in time), and a Node timer per
 * request costs a Timeout object, a list insertion and, on clearTimeout, the unlinking: several
 * microseconds of a request that is otherwise a few hundred. With one duration, the order in which
 * deadlines are added is the order in which they expire, so a Map in insertion order is the whole queue:
 * add and delete are O(1), and a sweep stops at the first deadline still ahead. The price is precision:
 * a deadline fires up to `resolutionMs` late (a twentieth of the duration, between 5 ms and 1 s), which
 * is fine for the timeouts this serves and would not be for a rate or a retry delay.
 *
 * Node has no such primitive (its timer lists are per duration too, but each entry is a Timeout); undici
 * keeps a similar coarse clock of its own for its socket timeouts, not exported.
 */
export class DeadlineQueue<T> {
  private readonly entries = new Map<T, number>();
  private readonly resolutionMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly durationMs: number,
    private readonly onExpire: (item: T) => void,
  ) {
    if (!(durationMs > 0) || !Number.isFinite(durationMs))
      throw new TypeError('deadline queue: duration must be a positive number of ms');
    this.resolutionMs = Math.min(1_000, Math.max(5, Math.floor(durationMs / 20)));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Starts `item`'s deadline, `durationMs` from now. An item already queued keeps its first deadline. */
  add(item: T): void {
    if (this.entries.has(item)) return;
    this.entries.set(item, performance.now() + this.durationMs);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.resolutionMs);
      // Whatever the deadline guards (a socket, a request) keeps the process alive, not the watch on it.
      this.timer.unref();
    }
  }

  /** Cancels `item`'s deadline; a no-op when it has none (already expired or never added). */
  delete(item: T): void {
    this.entries.delete(item);
  }

  private sweep(): void {
    const now = performance.now();
    for (const [item, deadline] of this.entries) {
      if (deadline > now) break;
      this.entries.delete(item);
      try {
        this.onExpire(item);
      } catch (error) {
        // One failing handler must not leave the later deadlines unswept (nor end the process).
        process.emitWarning(`deadline handler failed: ${String(error)}`);
      }
    }
    if (this.entries.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
