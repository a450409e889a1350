import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AdmissionQueue,
  type Admission,
  type AbortLike,
  type QueueOptions,
  type Timers,
} from './admission-queue.js';

/** A clock and the timers that run on it: advance() fires what has come due, in order. */
class FakeTime implements Timers {
  t = 1_000_000;
  private pending = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;
  readonly now = () => this.t;

  set(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.t + delayMs, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get timerCount(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending)
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.pending.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].callback();
    }
    this.t = until;
  }
}

class FakeSignal implements AbortLike {
  aborted = false;
  private listeners = new Set<() => void>();
  onAbort(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  abort(): void {
    this.aborted = true;
    for (const listener of [...this.listeners]) listener();
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

const defaults: QueueOptions = {
  maxQueued: 10,
  maxWaitMs: { interactive: 2000, batch: 30_000 },
  lifoAfterMs: 500,
};

function setup(capacity = 1, overrides: Partial<QueueOptions> = {}) {
  const time = new FakeTime();
  const slots = { capacity };
  const queue = new AdmissionQueue(() => slots.capacity, { ...defaults, ...overrides }, time.now, time);
  return { time, slots, queue };
}

/** Tracks a promise's outcome synchronously (after a microtask flush). */
function track(promise: Promise<Admission>) {
  const box: { value?: Admission } = {};
  void promise.then((value) => (box.value = value));
  return box;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function admitted(box: { value?: Admission }): Extract<Admission, { admitted: true }> {
  assert.ok(box.value, 'settled');
  assert.equal(box.value.admitted, true, `admitted, got ${JSON.stringify(box.value)}`);
  return box.value as Extract<Admission, { admitted: true }>;
}

function refused(box: { value?: Admission }, reason: string) {
  assert.ok(box.value, 'settled');
  assert.equal(box.value.admitted, false);
  assert.equal((box.value as Extract<Admission, { admitted: false }>).reason, reason);
  return box.value as Extract<Admission, { admitted: false }>;
}

test('admits at once below capacity, then queues; release admits the next', async () => {
  const { queue, time } = setup(2);
  const a = admitted({ value: await queue.acquire('interactive') });
  const b = admitted({ value: await queue.acquire('interactive') });
  assert.equal(a.waitedMs, 0);
  assert.equal(queue.inFlight, 2);
  const c = track(queue.acquire('interactive'));
  await flush();
  assert.equal(c.value, undefined);
  assert.equal(queue.queued, 1);
  time.advance(100);
  a.release();
  a.release(); // idempotent
  await flush();
  assert.equal(admitted(c).waitedMs, 100);
  assert.equal(queue.inFlight, 2);
  assert.equal(queue.queued, 0);
  assert.equal(time.timerCount, 0, 'the deadline timer is cleared on admission');
  b.release();
  admitted(c).release();
  assert.equal(queue.inFlight, 0);
});

/** Releases whoever holds the one slot, repeatedly, and returns the order in which the boxes were admitted. */
async function drainOrder(boxes: Record<string, { value?: Admission }>, first: { release(): void }) {
  const order: string[] = [];
  let holder = first;
  for (;;) {
    holder.release();
    await flush();
    const next = Object.entries(boxes).find(([name, box]) => box.value?.admitted && !order.includes(name));
    if (!next) return order;
    order.push(next[0]);
    holder = admitted(next[1]);
  }
}

test('interactive waiters go before batch waiters that came earlier, FIFO within a class', async () => {
  const { queue } = setup(1);
  const first = admitted({ value: await queue.acquire('interactive') });
  const boxes = {
    'batch-1': track(queue.acquire('batch')),
    'batch-2': track(queue.acquire('batch')),
    'int-1': track(queue.acquire('interactive')),
    'int-2': track(queue.acquire('interactive')),
  };
  assert.deepEqual(await drainOrder(boxes, first), ['int-1', 'int-2', 'batch-1', 'batch-2']);
  assert.equal(queue.inFlight, 0);
});

test('a full queue sheds: new batch is refused, new interactive evicts the newest batch waiter', async () => {
  const { queue } = setup(1, { maxQueued: 3 });
  const first = admitted({ value: await queue.acquire('interactive') });
  const b1 = track(queue.acquire('batch'));
  const b2 = track(queue.acquire('batch'));
  const i1 = track(queue.acquire('interactive'));
  const b3 = track(queue.acquire('batch'));
  await flush();
  const full = refused(b3, 'queue_full');
  assert.ok(full.retryAfterMs >= 1000 && full.retryAfterMs % 1000 === 0, 'whole seconds, at least one');
  const i2 = track(queue.acquire('interactive'));
  await flush();
  refused(b2, 'shed');
  assert.equal(b1.value, undefined, 'the oldest batch waiter keeps its place');
  const i3 = track(queue.acquire('interactive'));
  await flush();
  refused(b1, 'shed');
  // Only interactive waiters left: a further interactive request is refused, not evicting its own class.
  const i4 = track(queue.acquire('interactive'));
  await flush();
  refused(i4, 'queue_full');
  assert.equal(queue.queued, 3);
  assert.deepEqual(await drainOrder({ i1, i2, i3 }, first), ['i1', 'i2', 'i3']);
});

test('a request whose expected wait outlasts its deadline is shed at arrival', async () => {
  const { queue, time } = setup(2);
  // Teach it a hold time of 1 s.
  const warm = admitted({ value: await queue.acquire('interactive') });
  time.advance(1000);
  warm.release();
  assert.equal(queue.holdTimeMs, 1000);
  const a = admitted({ value: await queue.acquire('interactive') });
  admitted({ value: await queue.acquire('interactive') });
  // Position 0 with 2 slots: ~500 ms. A 400 ms deadline cannot be met; 600 ms can.
  refused({ value: await queue.acquire('interactive', time.t + 400) }, 'deadline');
  const fits = track(queue.acquire('interactive', time.t + 600));
  // Then 1000, 1500, 2000 ms: the interactive max wait (2 s) allows up to position 3, not 4.
  const more = [1, 2, 3, 4].map(() => track(queue.acquire('interactive')));
  await flush();
  assert.equal(fits.value, undefined);
  assert.deepEqual(
    more.map((box) => box.value?.admitted),
    [undefined, undefined, undefined, false],
  );
  refused(more[3]!, 'deadline');
  // Batch waits behind all of them but may wait 30 s.
  const batch = track(queue.acquire('batch'));
  await flush();
  assert.equal(batch.value, undefined);
  // A deadline already past is refused without queueing.
  refused({ value: await queue.acquire('batch', time.t - 1) }, 'deadline');
  assert.equal(queue.queued, 5);
  time.advance(10);
  a.release();
  await flush();
  admitted(fits);
});

test('a waiter is shed when its deadline passes while it waits (one timer per waiter)', async () => {
  const { queue, time } = setup(1);
  const first = admitted({ value: await queue.acquire('interactive') });
  const waiter = track(queue.acquire('interactive', time.t + 300));
  const batch = track(queue.acquire('batch'));
  assert.equal(time.timerCount, 2);
  time.advance(299);
  await flush();
  assert.equal(waiter.value, undefined);
  time.advance(1);
  await flush();
  refused(waiter, 'deadline');
  assert.equal(queue.queued, 1);
  // The default max wait applies without a deadline: batch 30 s.
  time.advance(29_699);
  await flush();
  assert.equal(batch.value, undefined);
  time.advance(1);
  await flush();
  refused(batch, 'deadline');
  assert.equal(time.timerCount, 0);
  first.release();
  assert.equal(queue.inFlight, 0);
});

test('an expired waiter is not admitted even if its timer has not run yet', async () => {
  const { queue, time } = setup(1);
  const first = admitted({ value: await queue.acquire('interactive') });
  const late = track(queue.acquire('interactive', time.t + 100));
  const onTime = track(queue.acquire('interactive'));
  time.t += 200; // the clock moves, the timer has not fired
  first.release();
  await flush();
  refused(late, 'deadline');
  admitted(onTime);
});

test('a waiter whose signal aborts leaves the queue at once', async () => {
  const { queue, time } = setup(1);
  const first = admitted({ value: await queue.acquire('interactive') });
  const signal = new FakeSignal();
  const gone = track(queue.acquire('interactive', undefined, signal));
  const stays = track(queue.acquire('interactive'));
  await flush();
  assert.equal(signal.listenerCount, 1);
  signal.abort();
  await flush();
  refused(gone, 'aborted');
  assert.equal(queue.queued, 1);
  assert.equal(signal.listenerCount, 0);
  assert.equal(time.timerCount, 1, 'its deadline timer is cleared');
  first.release();
  await flush();
  admitted(stays);
  // Already aborted: refused without queueing or taking a slot.
  const dead = new FakeSignal();
  dead.abort();
  refused({ value: await queue.acquire('interactive', undefined, dead) }, 'aborted');
  // An admitted waiter stops listening: a later abort does nothing to the queue.
  const late = new FakeSignal();
  const waiter = track(queue.acquire('batch', undefined, late));
  admitted(stays).release();
  await flush();
  admitted(waiter);
  assert.equal(late.listenerCount, 0);
  late.abort();
  assert.equal(queue.inFlight, 1);
});

test('adaptive LIFO: under a standing queue the newest interactive goes first, FIFO again once it clears', async () => {
  const { queue, time } = setup(1, { maxQueued: 20 });
  let holder = admitted({ value: await queue.acquire('interactive') });
  const old1 = track(queue.acquire('interactive'));
  const old2 = track(queue.acquire('interactive'));
  time.advance(400);
  const mid = track(queue.acquire('interactive'));
  assert.equal(queue.lifo, false);
  time.advance(200); // the oldest has now waited 600 ms > 500 ms
  assert.equal(queue.lifo, true);
  const fresh = track(queue.acquire('interactive'));
  const batch = track(queue.acquire('batch'));
  holder.release();
  await flush();
  holder = admitted(fresh);
  assert.equal(fresh.value?.admitted && fresh.value.waitedMs, 0);
  holder.release();
  await flush();
  holder = admitted(mid);
  assert.equal(old1.value, undefined);
  // The stale ones reach their 2 s deadline and are shed: the queue is short again and FIFO.
  time.advance(1400);
  await flush();
  refused(old1, 'deadline');
  refused(old2, 'deadline');
  assert.equal(queue.lifo, false);
  const next1 = track(queue.acquire('interactive'));
  time.advance(10);
  const next2 = track(queue.acquire('interactive'));
  holder.release();
  await flush();
  holder = admitted(next1);
  assert.equal(next2.value, undefined);
  holder.release();
  await flush();
  holder = admitted(next2);
  holder.release();
  await flush();
  admitted(batch).release();
  assert.equal(queue.inFlight, 0);
  assert.equal(queue.queued, 0);
});

test('pump() admits waiters when the capacity grows', async () => {
  const { queue, slots } = setup(1, { interactiveReserve: 0 });
  admitted({ value: await queue.acquire('interactive') });
  const a = track(queue.acquire('batch'));
  const b = track(queue.acquire('interactive'));
  const c = track(queue.acquire('batch'));
  slots.capacity = 3;
  queue.pump();
  await flush();
  admitted(a);
  admitted(b);
  assert.equal(c.value, undefined);
  assert.equal(queue.inFlight, 3);
  // A newcomer does not overtake a waiter when capacity grew without a pump.
  slots.capacity = 4;
  const d = track(queue.acquire('interactive'));
  await flush();
  admitted(c);
  assert.equal(d.value, undefined);
});

test('zero capacity with a known hold time sheds instead of queueing forever', async () => {
  const { queue, time, slots } = setup(1);
  const a = admitted({ value: await queue.acquire('interactive') });
  time.advance(100);
  a.release();
  slots.capacity = 0;
  const refusal = refused({ value: await queue.acquire('interactive') }, 'deadline');
  assert.ok(Number.isFinite(refusal.retryAfterMs));
});

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('no slot leaks and no waiter is lost under random operations (seeded)', async () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    const random = seeded(seed);
    const { queue, time, slots } = setup(3, { maxQueued: 8 });
    const pending: { box: { value?: Admission }; signal: FakeSignal; counted: boolean }[] = [];
    const held: (() => void)[] = [];
    let settledAdmitted = 0;
    let released = 0;

    const collect = () => {
      for (const entry of pending) {
        if (entry.counted || !entry.box.value) continue;
        entry.counted = true;
        if (entry.box.value.admitted) {
          settledAdmitted++;
          held.push(entry.box.value.release);
        }
      }
    };

    for (let step = 0; step < 3000; step++) {
      const r = random();
      if (r < 0.35) {
        const signal = new FakeSignal();
        const priority = random() < 0.5 ? 'interactive' : 'batch';
        const deadline = random() < 0.3 ? time.t + Math.floor(random() * 3000) : undefined;
        pending.push({ box: track(queue.acquire(priority, deadline, signal)), signal, counted: false });
      } else if (r < 0.6 && held.length > 0) {
        const index = Math.floor(random() * held.length);
        const release = held.splice(index, 1)[0]!;
        release();
        if (random() < 0.1) release(); // a double release must change nothing
        released++;
      } else if (r < 0.7 && pending.length > 0) {
        pending[Math.floor(random() * pending.length)]!.signal.abort();
      } else if (r < 0.8) {
        slots.capacity = 1 + Math.floor(random() * 5);
        if (random() < 0.5) queue.pump();
      } else {
        time.advance(Math.floor(random() * 400));
      }
      await flush();
      collect();
      assert.equal(queue.inFlight, settledAdmitted - released, `seed ${seed} step ${step}: in flight`);
      const unsettled = pending.filter((entry) => !entry.box.value).length;
      assert.equal(queue.queued, unsettled, `seed ${seed} step ${step}: queued`);
      assert.equal(time.timerCount, unsettled, `seed ${seed} step ${step}: one timer per waiter`);
    }

    // Drain: release everything, let every deadline pass; nothing may remain.
    slots.capacity = 3;
    for (let round = 0; round < 100 && (held.length > 0 || queue.queued > 0); round++) {
      for (const release of held.splice(0)) {
        release();
        released++;
      }
      time.advance(1000);
      await flush();
      collect();
    }
    assert.equal(queue.inFlight, 0, `seed ${seed}: a slot leaked`);
    assert.equal(queue.queued, 0);
    assert.equal(time.timerCount, 0);
    assert.ok(
      pending.every((entry) => entry.box.value),
      'every request was answered',
    );
  }
});

test('batch leaves a tenth of the slots (at least one) free for interactive arrivals', async () => {
  const { queue } = setup(10);
  const batch = [];
  for (let i = 0; i < 10; i++) batch.push(track(queue.acquire('batch')));
  await flush();
  // 9 of 10 slots: the tenth is kept free.
  assert.equal(batch.filter((b) => b.value?.admitted === true).length, 9);
  const interactive = track(queue.acquire('interactive'));
  await flush();
  admitted(interactive);
  assert.equal(queue.inFlight, 10);
  // Batch starts only while fewer than 9 are in flight, whoever holds them.
  admitted(batch[0] as { value?: Admission }).release();
  await flush();
  assert.equal(queue.inFlight, 9);
  assert.equal((batch[9] as { value?: Admission }).value, undefined, 'still waiting');
  admitted(interactive).release();
  await flush();
  admitted(batch[9] as { value?: Admission });
  assert.equal(queue.inFlight, 9);
  // One slot: nothing is reserved, or batch could never run.
  const only = track(setup(1).queue.acquire('batch'));
  await flush();
  admitted(only);
});

/** Fills `n` slots with batch work held for `holdMs`, released together: the hold time the pacing uses. */
async function heldClump(queue: AdmissionQueue, time: FakeTime, n: number, holdMs: number) {
  const clump = await Promise.all(Array.from({ length: n }, () => queue.acquire('batch')));
  time.advance(holdMs);
  for (const slot of clump) admitted({ value: slot }).release();
}

test('with pacing, slots freed together are refilled one interval apart, not at once', async () => {
  const { queue, time } = setup(4, { pacing: true, interactiveReserve: 0, maxQueued: 100 });
  await heldClump(queue, time, 4, 100);
  // Eight batch waiters and four free slots: one starts now, the next each 100 / (4 × 1.1) ≈ 22.7 ms.
  const boxes = Array.from({ length: 8 }, () => track(queue.acquire('batch')));
  await flush();
  const startedBy = async (ms: number) => {
    time.advance(ms);
    await flush();
    return boxes.filter((box) => box.value?.admitted).length;
  };
  assert.equal(await startedBy(0), 1);
  assert.equal(await startedBy(20), 1, 'the second waits for its turn although a slot is free');
  assert.equal(await startedBy(5), 2);
  assert.equal(await startedBy(23), 3);
  assert.equal(await startedBy(23), 4);
  assert.equal(await startedBy(100), 4, 'then the four slots are full');
  for (const box of boxes) if (box.value?.admitted) box.value.release();
});

test('without pacing the same slots are refilled at once (the clump the pacing spreads)', async () => {
  const { queue, time } = setup(4, { interactiveReserve: 0, maxQueued: 100 });
  await heldClump(queue, time, 4, 100);
  const boxes = Array.from({ length: 8 }, () => track(queue.acquire('batch')));
  await flush();
  assert.equal(boxes.filter((box) => box.value?.admitted).length, 4);
});

test('pacing never delays an interactive request, though it takes a turn', async () => {
  const { queue, time } = setup(4, { pacing: true, interactiveReserve: 0, maxQueued: 100 });
  await heldClump(queue, time, 4, 100);
  const first = track(queue.acquire('batch'));
  const second = track(queue.acquire('batch'));
  await flush();
  admitted(first);
  assert.equal(second.value, undefined);
  // A slot is free and batch is waiting for its turn: the interactive request goes now.
  const urgent = track(queue.acquire('interactive'));
  await flush();
  assert.equal(admitted(urgent).waitedMs, 0);
  // It took the turn the batch waiter was due: that one waits one more interval.
  time.advance(23);
  await flush();
  assert.equal(second.value, undefined);
  time.advance(23);
  await flush();
  admitted(second);
});

test('pacing builds no credit while idle, and a request that cannot wait for its turn is refused', async () => {
  const { queue, time } = setup(4, { pacing: true, interactiveReserve: 0, maxQueued: 100 });
  await heldClump(queue, time, 4, 100);
  time.advance(60_000);
  const a = track(queue.acquire('batch'));
  const b = track(queue.acquire('batch'));
  await flush();
  admitted(a);
  assert.equal(b.value, undefined, 'a minute idle does not let two start together');
  time.advance(23);
  await flush();
  admitted(b);
  // A request whose deadline comes before its turn is refused at once, not admitted late.
  const late = track(queue.acquire('batch', time.t + 10));
  await flush();
  refused(late, 'deadline');
});

test('batchCapacity caps the slots batch may fill; interactive work may use the rest', async () => {
  const ceiling = { value: 3 };
  const { queue } = setup(10, { interactiveReserve: 0, batchCapacity: () => ceiling.value });
  const batch = await Promise.all([1, 2, 3].map(() => queue.acquire('batch')));
  const fourth = track(queue.acquire('batch'));
  await flush();
  assert.equal(fourth.value, undefined, 'the fourth batch request waits');
  const urgent = await queue.acquire('interactive');
  assert.equal(urgent.admitted, true);
  // The ceiling grows: pump() (the limit's onChange) lets the waiter in.
  ceiling.value = 5;
  queue.pump();
  await flush();
  admitted(fourth);
  assert.equal(queue.inFlight, 5);
  for (const slot of [...batch, urgent]) if (slot.admitted) slot.release();
});

test('pacing spreads starts over the time to first token when it is shorter than the hold (streams)', async () => {
  // Streams that hold their slots 10 s each, with a 100 ms time to first token: starts are spread over
  // the 100 ms, not the 10 s, or four free slots would take 30 s to fill.
  const { queue, time } = setup(4, {
    pacing: true,
    interactiveReserve: 0,
    maxQueued: 100,
    paceOverMs: () => 100,
  });
  await heldClump(queue, time, 4, 10_000);
  const boxes = Array.from({ length: 4 }, () => track(queue.acquire('batch')));
  await flush();
  assert.equal(boxes.filter((box) => box.value?.admitted).length, 1);
  time.advance(3 * 23);
  await flush();
  assert.equal(boxes.filter((box) => box.value?.admitted).length, 4);
});

test('a batch request held only by pacing is judged by its turn, not by the hold-time estimate', async () => {
  // Streams that hold slots 10 s, paced over a 100 ms TTFT: with a slot free, a batch request with a 1 s
  // deadline waits its turn (~23 ms) instead of being refused for a 10 s / 4 expected wait.
  const { queue, time } = setup(4, {
    pacing: true,
    interactiveReserve: 0,
    maxQueued: 100,
    paceOverMs: () => 100,
  });
  await heldClump(queue, time, 4, 10_000);
  const first = track(queue.acquire('batch'));
  const second = track(queue.acquire('batch', time.t + 1_000));
  await flush();
  admitted(first);
  assert.equal(second.value, undefined, 'waiting for its turn');
  time.advance(23);
  await flush();
  assert.equal(Math.round(admitted(second).waitedMs), 23, 'its turn: 100 / (4 × 1.1) ms');
});
