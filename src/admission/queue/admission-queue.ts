/**
 * A bounded wait queue in front of a concurrency limit, with two priority classes and load shedding.
 *
 * - While fewer than `capacity()` requests hold a slot, a request is admitted at once. Otherwise it waits;
 *   `release()` of a slot (or `pump()` after the capacity grew) admits the next waiter: interactive before
 *   batch, always. Batch may fill all but a reserve of the slots (a tenth, at least one from two slots
 *   up), so an interactive request that arrives while batch work saturates the limit starts at once
 *   instead of waiting for a release.
 * - Shedding (resolved `admitted: false`, never rejected): when the queue holds `maxQueued` waiters (a new
 *   interactive request evicts the newest batch waiter instead, so batch is shed before interactive), and
 *   when the expected wait would outlast the request's deadline or its class's max wait (2 s / 30 s by
 *   default). Expected wait = EWMA of slot hold time × (position + 1) / capacity: with `capacity` slots
 *   busy and hold times spread evenly, one frees every hold / capacity. Refusing at arrival, not after the
 *   wait, is the point: a request that will miss its deadline anyway should cost neither a slot nor a wait.
 *   The estimate can be wrong, so each waiter also has one timer at its deadline.
 * - Adaptive LIFO (Facebook's "Fail at Scale", with CoDel's idea of a standing queue): while the oldest
 *   interactive waiter has waited longer than `lifoAfterMs`, the queue is not draining, and FIFO would serve
 *   exactly the requests whose clients are most likely gone; so the newest interactive waiter goes first
 *   until the queue is short again (the stale ones reach their deadline and are shed). FIFO otherwise, which
 *   is fairer when the queue drains. Batch stays FIFO: its clients wait by design (the batch backlog is also
 *   why the standing-queue test looks at interactive waiters only; a 30 s batch queue is normal).
 * - A waiter whose signal aborts leaves the queue at once (resolved with reason 'aborted').
 * - Pacing (option `pacing`, on for adaptive concurrency): admissions are spread over the slots' hold time
 *   (or the upstream's time to first token when shorter, `paceOverMs`), one per span / (batch's slots ×
 *   `paceGain`) at most, and a batch request waits for its turn (interactive ones never do, but take one). Without it, the slots freed together are refilled together: requests that start together
 *   against an upstream with steady service times end together, and the clump repeats every round trip.
 *   The upstream's servers then all free up at once and all fill at once, so an interactive request that
 *   arrives between two clumps waits in the upstream's own line for up to a whole round trip, although
 *   Sluice's queue let it through at once. Spacing the starts spreads the ends, and the next interactive
 *   request finds a server freeing within one interval. BBR paces its packets at its bandwidth estimate for
 *   the same reason: a window sent in a burst makes the bottleneck's queue it was meant to avoid. The
 *   spacing is at a small gain over the rate slots free up (`paceGain`), so it spreads clumps without
 *   holding back a queue that the limit allows to drain.
 *
 * Every operation is O(1): waiters sit in one doubly linked list per class, so a waiter can leave from
 * anywhere (abort, deadline, eviction) without a scan. Per replica.
 */

export type Priority = 'interactive' | 'batch';

export interface QueueOptions {
  /** Waiters across both classes. */
  maxQueued: number;
  maxWaitMs: { interactive: number; batch: number };
  /** Age of the oldest interactive waiter beyond which the newest is served first (default maxWait / 4). */
  lifoAfterMs?: number;
  /** Fraction of the slots batch may not take, kept for interactive arrivals (default 0.1, at most 0.5). */
  interactiveReserve?: number;
  /** Spread admissions over the hold time, batch waiting its turn (default false; see the class comment). */
  pacing?: boolean;
  /**
   * With pacing, a span to spread starts over when it is shorter than the hold time: the upstream's round
   * trip to the first token (an adaptive limit's roundTripMs; 0 or undefined: the hold time). A stream
   * holds its slot for its whole answer, and spacing starts by that would keep free slots empty for
   * seconds; spread over the time to first token, the starts still do not arrive at the upstream together.
   */
  paceOverMs?: () => number | undefined;
  /** Slots batch may fill at most, below `capacity()` (an adaptive limit's batchLimit); default: all. */
  batchCapacity?: () => number;
}

export type ShedReason = 'queue_full' | 'deadline' | 'shed' | 'aborted';

export type Admission =
  | { admitted: true; waitedMs: number; release(): void }
  | { admitted: false; reason: ShedReason; retryAfterMs: number };

/** What acquire() needs of an AbortSignal-like: listen once, and stop listening. */
export interface AbortLike {
  aborted: boolean;
  onAbort(listener: () => void): () => void;
}

/** Injectable so tests drive deadline timers with the same fake clock as `now`. */
export interface Timers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Weight of a new hold time in the EWMA (~the last 20 releases). */
const holdAlpha = 0.1;
/**
 * Pacing's rate over the rate at which slots free up (capacity / hold). Above 1 so that admissions delayed
 * by a busy event loop or by a clump catch up; close to 1 so that a clump is spread over most of a round trip.
 */
const paceGain = 1.1;
/**
 * Retry-After is whole seconds (RFC 9110 §10.2.3): anything under one second would round to "retry now",
 * which turns shedding into a retry loop.
 */
const minRetryAfterMs = 1000;

interface Waiter {
  priority: Priority;
  enqueuedAt: number;
  resolve: (admission: Admission) => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
  timer: unknown;
  unsubscribe: (() => void) | undefined;
  deadlineAt: number;
}

/** A doubly linked list: push at the tail, remove any node, in O(1). */
class WaiterList {
  head: Waiter | undefined;
  tail: Waiter | undefined;
  size = 0;

  push(waiter: Waiter): void {
    waiter.prev = this.tail;
    waiter.next = undefined;
    if (this.tail) this.tail.next = waiter;
    else this.head = waiter;
    this.tail = waiter;
    this.size++;
  }

  remove(waiter: Waiter): void {
    if (waiter.prev) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    waiter.prev = waiter.next = undefined;
    this.size--;
  }
}

export class AdmissionQueue {
  private readonly capacity: () => number;
  private readonly maxQueued: number;
  private readonly maxWaitMs: { interactive: number; batch: number };
  private readonly lifoAfterMs: number;
  private readonly interactiveReserve: number;
  private readonly pacing: boolean;
  private readonly batchCapacity: (() => number) | undefined;
  private readonly paceOverMs: (() => number | undefined) | undefined;
  /** With pacing: the earliest time of the next batch admission, and the timer that pumps then. */
  private nextStartAt = -Infinity;
  private paceTimer: unknown = undefined;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly lists: Record<Priority, WaiterList> = {
    interactive: new WaiterList(),
    batch: new WaiterList(),
  };
  private active = 0;
  /** EWMA of how long an admitted request holds its slot; undefined until the first release. */
  private holdMs: number | undefined;

  constructor(
    capacity: () => number,
    options: QueueOptions,
    now: () => number = Date.now,
    timers = realTimers,
  ) {
    this.capacity = capacity;
    this.maxQueued = Math.max(0, options.maxQueued);
    this.maxWaitMs = options.maxWaitMs;
    this.lifoAfterMs = options.lifoAfterMs ?? options.maxWaitMs.interactive / 4;
    this.interactiveReserve = Math.min(0.5, Math.max(0, options.interactiveReserve ?? 0.1));
    this.pacing = options.pacing ?? false;
    this.batchCapacity = options.batchCapacity;
    this.paceOverMs = options.paceOverMs;
    this.now = now;
    this.timers = timers;
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.lists.interactive.size + this.lists.batch.size;
  }

  /** Waiters of one class. */
  queuedOf(priority: Priority): number {
    return this.lists[priority].size;
  }

  /** True while a standing interactive queue makes the newest interactive waiter go first. */
  get lifo(): boolean {
    const oldest = this.lists.interactive.head;
    return oldest !== undefined && this.now() - oldest.enqueuedAt > this.lifoAfterMs;
  }

  /** The current estimate of one slot's hold time (ms), for metrics; undefined before any release. */
  get holdTimeMs(): number | undefined {
    return this.holdMs;
  }

  acquire(priority: Priority, deadlineAt?: number, signal?: AbortLike): Promise<Admission> {
    if (signal?.aborted) return Promise.resolve(this.refuse('aborted'));
    // Waiters admitted by a grown capacity go before this newcomer.
    this.pump();
    const at = this.now();
    // A deadline already past: its client has given up, even if a slot is free.
    if (deadlineAt !== undefined && deadlineAt <= at) return Promise.resolve(this.refuse('deadline'));
    const ahead = priority === 'interactive' ? this.lists.interactive.size : this.queued;
    // A slot is free and nobody is ahead: only pacing can make this request wait, until its turn.
    const slotFree = ahead === 0 && this.active < this.capacityFor(priority);
    if (slotFree && (priority === 'interactive' || at >= this.nextStartAt))
      return Promise.resolve(this.admit(at));
    const deadline = Math.min(deadlineAt ?? Infinity, at + this.maxWaitMs[priority]);
    if (deadline <= at) return Promise.resolve(this.refuse('deadline'));

    const wait = slotFree ? this.nextStartAt - at : this.expectedWait(this.positionFor(priority), priority);
    if (at + wait > deadline) return Promise.resolve(this.refuse('deadline'));
    if (this.queued >= this.maxQueued) {
      const victim = priority === 'interactive' ? this.lists.batch.tail : undefined;
      if (!victim) return Promise.resolve(this.refuse('queue_full'));
      this.leave(victim, this.refuse('shed'));
    }

    return new Promise<Admission>((resolve) => {
      const waiter: Waiter = {
        priority,
        enqueuedAt: at,
        resolve,
        prev: undefined,
        next: undefined,
        timer: undefined,
        unsubscribe: undefined,
        deadlineAt: deadline,
      };
      this.lists[priority].push(waiter);
      waiter.timer = this.timers.set(() => {
        waiter.timer = undefined;
        this.leave(waiter, this.refuse('deadline'));
      }, deadline - at);
      waiter.unsubscribe = signal?.onAbort(() => this.leave(waiter, this.refuse('aborted')));
      // A batch request held back only by pacing: the pace timer admits it.
      if (priority === 'batch') this.pump();
    });
  }

  /** Admits waiters while there are free slots; call it when the capacity grows. */
  pump(): void {
    while (this.active < this.capacity()) {
      const waiter = this.next();
      if (!waiter) return;
      const at = this.now();
      // The deadline timer may not have run yet (a busy event loop, or a test's clock).
      if (at >= waiter.deadlineAt) {
        this.leave(waiter, this.refuse('deadline'));
        continue;
      }
      if (waiter.priority === 'batch') {
        // The slots kept for interactive requests: batch waits for the others.
        if (this.active >= this.capacityFor('batch')) return;
        if (at < this.nextStartAt) return this.paceAt(this.nextStartAt - at);
      }
      this.leave(waiter, this.admit(at, waiter.enqueuedAt));
    }
  }

  private next(): Waiter | undefined {
    const interactive = this.lists.interactive;
    if (interactive.head) return this.lifo ? interactive.tail : interactive.head;
    return this.lists.batch.head;
  }

  /**
   * Slots a class may fill: all of them for interactive; for batch all but a reserve of a tenth (at least
   * one once there are two), so that an interactive request arriving while batch work fills the limit
   * finds a slot free instead of waiting for the next release; and no more than `batchCapacity`.
   */
  private capacityFor(priority: Priority): number {
    const capacity = this.capacity();
    if (priority === 'interactive') return capacity;
    const ceiling = this.batchCapacity === undefined ? capacity : Math.min(capacity, this.batchCapacity());
    if (capacity < 2 || this.interactiveReserve === 0) return ceiling;
    return Math.min(ceiling, capacity - Math.max(1, Math.floor(capacity * this.interactiveReserve)));
  }

  /** Waiters that will be served before a newcomer of this class. */
  private positionFor(priority: Priority): number {
    if (priority === 'batch') return this.queued;
    // Under adaptive LIFO a new interactive request goes first.
    return this.lifo ? 0 : this.lists.interactive.size;
  }

  private expectedWait(position: number, priority: Priority = 'interactive'): number {
    if (this.holdMs === undefined) return 0;
    const capacity = this.capacityFor(priority);
    if (capacity <= 0) return Infinity;
    return (this.holdMs * (position + 1)) / capacity;
  }

  /** Takes the waiter out of its list, stops its timer and listener, and settles it. */
  private leave(waiter: Waiter, admission: Admission): void {
    this.lists[waiter.priority].remove(waiter);
    if (waiter.timer !== undefined) this.timers.clear(waiter.timer);
    waiter.timer = undefined;
    waiter.unsubscribe?.();
    waiter.unsubscribe = undefined;
    waiter.resolve(admission);
  }

  /** Pumps again in `delayMs`, when pacing lets the next batch request start (one timer at a time). */
  private paceAt(delayMs: number): void {
    if (this.paceTimer !== undefined) return;
    this.paceTimer = this.timers.set(() => {
      this.paceTimer = undefined;
      this.pump();
    }, delayMs);
  }

  private admit(at: number, enqueuedAt = at): Admission {
    this.active++;
    if (this.pacing && this.holdMs !== undefined) {
      // Every start takes a turn; only batch ones wait for theirs. No credit builds up while idle.
      // At the rate the slots batch may fill free up: faster would still let it start in clumps.
      const over = this.paceOverMs?.() ?? 0;
      const span = over > 0 ? Math.min(over, this.holdMs) : this.holdMs;
      const interval = span / (Math.max(1, this.capacityFor('batch')) * paceGain);
      this.nextStartAt = Math.max(at, this.nextStartAt) + interval;
    }
    let released = false;
    return {
      admitted: true,
      waitedMs: at - enqueuedAt,
      release: () => {
        // Idempotent: a second release from a cleanup path must not free someone else's slot.
        if (released) return;
        released = true;
        this.active--;
        const held = Math.max(0, this.now() - at);
        this.holdMs = this.holdMs === undefined ? held : this.holdMs + holdAlpha * (held - this.holdMs);
        this.pump();
      },
    };
  }

  private refuse(reason: ShedReason): Admission {
    if (reason === 'aborted') return { admitted: false, reason, retryAfterMs: 0 };
    // Roughly when the present backlog will have drained.
    const drain = this.expectedWait(this.queued);
    const retryAfterMs = Number.isFinite(drain) ? drain : this.maxWaitMs.interactive;
    return {
      admitted: false,
      reason,
      retryAfterMs: Math.ceil(Math.max(retryAfterMs, minRetryAfterMs) / 1000) * 1000,
    };
  }
}
