import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdaptiveLimit, type AdaptiveLimitOptions } from './adaptive-limit.js';

function setup(overrides: Partial<AdaptiveLimitOptions> = {}) {
  const clock = { t: 1_000_000 };
  const limiter = new AdaptiveLimit({ initial: 10, min: 2, max: 200, ...overrides }, () => clock.t);
  const changes: number[] = [];
  limiter.onChange = (limit) => changes.push(limit);
  /** One request at full demand (as many in flight as the limit allows) finishing with `rttMs`. */
  const sample = (rttMs: number) => {
    clock.t += rttMs;
    limiter.onSample(rttMs, limiter.limit);
  };
  return { clock, limiter, changes, sample };
}

/** Deterministic noise so "steady" latency is not suspiciously constant. */
function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

test('the limit grows under steady low latency and stops at max', () => {
  const { limiter, changes, sample } = setup({ probeIntervalMs: 1e9 });
  const random = seeded(1);
  for (let i = 0; i < 50; i++) sample(100 + random() * 10);
  assert.ok(limiter.limit > 30, `grew to ${limiter.limit}`);
  for (let i = 0; i < 2000; i++) sample(100 + random() * 10);
  assert.equal(limiter.limit, 200);
  assert.equal(changes.at(-1), 200);
  assert.ok(
    changes.every((limit, i) => i === 0 || limit >= changes[i - 1]!),
    'only grew',
  );
});

test('it does not grow while the traffic never uses half the limit, and decays toward twice the use', () => {
  const { limiter, clock } = setup({ initial: 64 });
  const seen: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    clock.t += 20; // five samples per 100 ms round trip, never more than 3 in flight
    limiter.onSample(100, 3);
    seen.push(limiter.limit);
  }
  assert.ok(
    seen.every((limit, i) => i === 0 || limit <= (seen[i - 1] as number)),
    'never grew',
  );
  assert.equal(limiter.limit, 6, 'twice the 3 the traffic used');
});

test('a slowing upstream gets less concurrency before its baseline catches up', () => {
  const { limiter, sample } = setup();
  for (let i = 0; i < 300; i++) sample(100);
  const before = limiter.limit;
  assert.equal(before, 200);
  // TTFT creeps up: within tolerance (1.5×) nothing changes, above it the limit falls in proportion.
  for (let i = 0; i < 20; i++) sample(130);
  assert.equal(limiter.limit, before);
  const trace: number[] = [];
  for (let i = 0; i < 20; i++) {
    sample(300);
    trace.push(limiter.limit);
  }
  assert.ok(limiter.limit < before / 2, `fell to ${limiter.limit}`);
  assert.ok(trace[4]! < before * 0.8, `already ${trace[4]} after five slow samples`);
});

test('a persistently slower upstream becomes the new baseline and the limit recovers', () => {
  const { limiter, sample } = setup({ max: 100 });
  for (let i = 0; i < 300; i++) sample(100);
  for (let i = 0; i < 30; i++) sample(400);
  const low = limiter.limit;
  assert.ok(low < 50);
  for (let i = 0; i < 3000; i++) sample(400);
  assert.equal(limiter.limit, 100);
});

test('repeated overload signals cut the limit multiplicatively, about half after seven', () => {
  const { limiter, clock, sample } = setup();
  for (let i = 0; i < 300; i++) sample(100);
  assert.equal(limiter.limit, 200);
  for (let i = 0; i < 7; i++) {
    clock.t += 100;
    limiter.onOverload();
  }
  // 200 · 0.9^7 = 95.7
  assert.equal(limiter.limit, 95);
});

test('a burst of 429s from one round trip is one back-off, not one per response', () => {
  const { limiter, clock, sample } = setup();
  for (let i = 0; i < 300; i++) sample(100);
  for (let i = 0; i < 20; i++) limiter.onOverload();
  assert.equal(limiter.limit, 180);
  clock.t += 100;
  limiter.onOverload();
  assert.equal(limiter.limit, 162);
});

test('min and max hold under any abuse, and nothing becomes NaN', () => {
  const { limiter, clock } = setup({ min: 3, max: 40 });
  for (let i = 0; i < 200; i++) {
    clock.t += 1000;
    limiter.onOverload();
  }
  assert.equal(limiter.limit, 3);
  const junk = [0, -5, Number.NaN, Infinity, -Infinity, 1e-300, 1e300, 5];
  for (let i = 0; i < 5000; i++) {
    limiter.onSample(junk[i % junk.length]!, i % 3 === 0 ? Number.NaN : 1e9);
    assert.ok(Number.isFinite(limiter.limit));
    assert.ok(limiter.limit >= 3 && limiter.limit <= 40, `limit ${limiter.limit}`);
  }
  const bad = new AdaptiveLimit({
    initial: Number.NaN,
    min: Number.NaN,
    max: Number.NaN,
    smoothing: Number.NaN,
  });
  bad.onSample(100, 1);
  bad.onSample(100, 1);
  assert.ok(Number.isFinite(bad.limit) && bad.limit >= 1);
});

test('the initial limit is clamped into [min, max]', () => {
  assert.equal(new AdaptiveLimit({ initial: 1000, min: 1, max: 50 }).limit, 50);
  assert.equal(new AdaptiveLimit({ initial: 0, min: 4, max: 50 }).limit, 4);
});

test('tryAcquire admits up to the limit; samples and releases free slots, never below zero', () => {
  const limiter = new AdaptiveLimit({ initial: 3, min: 1, max: 10 });
  assert.ok(limiter.tryAcquire() && limiter.tryAcquire() && limiter.tryAcquire());
  assert.equal(limiter.tryAcquire(), false);
  assert.equal(limiter.inFlight, 3);
  limiter.onSample(100, 3);
  assert.equal(limiter.inFlight, 2);
  limiter.release();
  limiter.release();
  limiter.release();
  assert.equal(limiter.inFlight, 0);
  limiter.onOverload();
  assert.equal(limiter.inFlight, 0, 'overload alone does not free a slot');
});

test('against an upstream that saturates, the limit settles near its capacity instead of drifting to max', () => {
  const { limiter, sample } = setup({ initial: 5, min: 1, max: 500, tolerance: 1.25 });
  // Up to 20 at once it answers in 100 ms; beyond that requests queue inside it and TTFT grows linearly.
  const ttft = (inFlight: number) => (inFlight <= 20 ? 100 : (100 * inFlight) / 20);
  const seen: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    sample(ttft(limiter.limit));
    if (i > 1000) seen.push(limiter.limit);
  }
  const top = Math.max(...seen.filter((limit) => limit > 1));
  // The tolerance line is at 25 (TTFT 1.25 × 100 ms): the limit stays just around it, so the upstream's
  // own queue stays short (Gradient2's always-on allowance would hold it near 31).
  assert.ok(top <= 30, `peaked at ${top}`);
  const settled = seen.filter((limit) => limit >= 20 && limit <= 27).length / seen.length;
  assert.ok(settled > 0.9, `within [20, 27] ${Math.round(settled * 100)}% of the time`);
});

test('every probe interval the limit drops to min for a few samples, re-measures the baseline, and is restored', () => {
  const { limiter, clock, changes, sample } = setup({ probeIntervalMs: 60_000 });
  for (let i = 0; i < 300; i++) sample(100);
  assert.equal(limiter.limit, 200);
  clock.t += 60_000;
  sample(100);
  assert.equal(limiter.limit, 2);
  // Attempts sent before the probe (at full concurrency) do not count toward it.
  for (let i = 0; i < 20; i++) limiter.onSample(900, 150);
  assert.equal(limiter.limit, 2);
  for (let i = 0; i < 8; i++) sample(100);
  assert.equal(limiter.limit, 200);
  assert.deepEqual(changes.slice(-2), [2, 200]);
  // An overload during a probe cuts the limit that will be restored.
  clock.t += 60_000;
  sample(100);
  limiter.onOverload();
  for (let i = 0; i < 8; i++) sample(100);
  assert.equal(limiter.limit, 180);
});

/**
 * A discrete-event model of the real loop, where the feedback is late: requests arrive open-loop faster
 * than the upstream can serve, the limit admits them into an upstream with `capacity` slots that queues
 * the rest (FIFO), and each answer's TTFT reports the load of one round trip earlier. Many samples arrive
 * per round trip, which is what made a per-sample controller swing between min and 40+ (an upstream
 * idle half the time, then a long queue inside it).
 */
function closedLoopModel(
  tolerance: number,
  seconds = 30,
  /** With a batch limit; then every request is batch work and waits for `batchLimit`. */
  batchTolerance?: number,
  capacityAt: (t: number) => number = () => 16,
  /** Service times are uniform in serviceMs × (1 ± spread). */
  spread = 0.05,
  seed = 7,
) {
  const serviceMs = 100;
  const clock = { t: 0 };
  const random = seeded(seed);
  const limiter = new AdaptiveLimit(
    {
      initial: 64,
      min: 4,
      max: 1024,
      tolerance,
      ...(batchTolerance === undefined ? {} : { batchTolerance }),
    },
    () => clock.t,
  );
  const slots = () => (batchTolerance === undefined ? limiter.limit : limiter.batchLimit);
  // A binary min-heap of [time, seq, action]: the event order is time, then creation.
  const heap: [number, number, () => void][] = [];
  let seq = 0;
  const schedule = (at: number, action: () => void): void => {
    heap.push([at, seq++, action]);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      const [a, b] = [heap[i]!, heap[parent]!];
      if (b[0] < a[0] || (b[0] === a[0] && b[1] < a[1])) break;
      [heap[i], heap[parent]] = [b, a];
      i = parent;
    }
  };
  const pop = (): [number, number, () => void] => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        const less = (x: number, y: number) =>
          heap[x]![0] < heap[y]![0] || (heap[x]![0] === heap[y]![0] && heap[x]![1] < heap[y]![1]);
        if (l < heap.length && less(l, m)) m = l;
        if (r < heap.length && less(r, m)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  let waiting = 0;
  let busy = 0;
  const upstreamLine: { sentAt: number; inFlight: number }[] = [];
  const limits: number[] = [];
  const batchLimits: number[] = [];
  const lines: number[] = [];

  const serve = (request: { sentAt: number; inFlight: number }): void => {
    busy++;
    schedule(clock.t + serviceMs * (1 - spread + random() * 2 * spread), () => {
      busy--;
      const next = upstreamLine.shift();
      if (next) serve(next);
      limiter.onSample(clock.t - request.sentAt, request.inFlight);
      // After the end, only what is already in flight finishes (not the whole backlog).
      if (clock.t < end) send();
    });
  };
  const send = (): void => {
    while (waiting > 0 && limiter.inFlight < slots() && limiter.tryAcquire()) {
      waiting--;
      const request = { sentAt: clock.t, inFlight: limiter.inFlight };
      if (busy < capacityAt(clock.t)) serve(request);
      else upstreamLine.push(request);
    }
  };
  const end = seconds * 1000;
  // 220 requests/s against a capacity of 160/s (×10 with a batch limit, a backlog that never runs out).
  for (let t = 0; t < end; t += 1000 / (batchTolerance === undefined ? 220 : 2200))
    schedule(t, () => {
      waiting++;
      send();
    });
  for (let t = 5000; t < end; t += 100)
    schedule(t, () => {
      limits.push(limiter.limit);
      batchLimits.push(limiter.batchLimit);
      lines.push(upstreamLine.length);
    });
  while (heap.length > 0) {
    const [at, , action] = pop();
    clock.t = at;
    action();
  }
  const quantile = (values: number[], q: number) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length * q)] as number;
  return {
    limit: [quantile(limits, 0.05), quantile(limits, 0.95)],
    batchLimit: [quantile(batchLimits, 0.05), quantile(batchLimits, 0.95)],
    /** The limits over the last 5 s. */
    lastBatchLimits: batchLimits.slice(-50),
    upstreamLineP95: quantile(lines, 0.95),
    /** Mean of the upstream's line, sampled every 100 ms after the first 5 s. */
    upstreamLineMean: lines.reduce((a, b) => a + b, 0) / lines.length,
  };
}

test('with late feedback (many samples per round trip), the limit holds near capacity instead of swinging', () => {
  const tight = closedLoopModel(1.1);
  assert.ok(tight.limit[0]! >= 14 && tight.limit[1]! <= 21, `limit p5–p95 ${tight.limit.join('–')}`);
  assert.ok(tight.upstreamLineP95 <= 5, `upstream line p95 ${tight.upstreamLineP95}`);
  const loose = closedLoopModel(1.25);
  assert.ok(loose.limit[0]! >= 15 && loose.limit[1]! <= 24, `limit p5–p95 ${loose.limit.join('–')}`);
  assert.ok(loose.upstreamLineP95 <= 8, `upstream line p95 ${loose.upstreamLineP95}`);
});

test("with a batch limit, batch work alone keeps the upstream's line near empty, where one limit keeps it tolerance deep", () => {
  const one = closedLoopModel(1.25, 30, 1.25);
  const two = closedLoopModel(1.25, 30, 1.05);
  // One limit: the line settles at about (1.25 − 1) × 16 = 4 requests.
  assert.ok(one.upstreamLineMean >= 2, `one limit: line mean ${one.upstreamLineMean.toFixed(2)}`);
  // The batch limit holds at the upstream's 16 slots, give or take one; the line is under one request.
  assert.ok(two.upstreamLineMean < 0.8, `batch limit: line mean ${two.upstreamLineMean.toFixed(2)}`);
  assert.ok(two.upstreamLineP95 <= 1, `batch limit: line p95 ${two.upstreamLineP95}`);
  assert.ok(
    two.batchLimit[0]! >= 15 && two.batchLimit[1]! <= 18,
    `batch limit p5–p95 ${two.batchLimit.join('–')}`,
  );
  // The limit itself (for interactive work) is not held down by it.
  assert.ok(two.limit[0]! >= two.batchLimit[1]!, `limit p5 ${two.limit[0]}`);
});

test('with answer times that vary by a fifth, the batch limit still keeps the upstream busy (no ratchet to min)', () => {
  // Uniform ±20% (a coefficient of variation of about 0.12): a tolerance of 1.05 over an 8-sample baseline
  // reads noise as load, and before the batch baseline was re-based this held batch at min (4 of 16 slots).
  const noisy = closedLoopModel(1.25, 60, 1.05, () => 16, 0.2);
  const last = noisy.lastBatchLimits;
  assert.ok(
    Math.min(...last) >= 12,
    `batch limit over the last 5 s ${Math.min(...last)}..${Math.max(...last)}`,
  );
  assert.ok(noisy.batchLimit[0]! >= 10, `batch limit p5–p95 ${noisy.batchLimit.join('–')}`);
});

test('with answer times that vary by half, a baseline measured low does not ratchet either limit to min', () => {
  // Uniform ±50% (a coefficient of variation of about 0.29): an 8-sample baseline comes out a fifth low
  // often enough, and then every round trip reads as load. Before the shrink-run rule (ShrinkRun) these
  // seeds held the limit at min (4 of 16) for the rest of the run, one limit or two; the batch limit's
  // noise margin keeps it from reading the noise as load once the baseline is right.
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  for (const seed of [2, 5]) {
    const one = closedLoopModel(1.25, 60, undefined, () => 16, 0.5, seed);
    // The mean, not the least: a probe (at min, by design) may fall in the last 5 s.
    assert.ok(
      mean(one.lastBatchLimits) >= 14,
      `seed ${seed}, one limit: mean over the last 5 s ${mean(one.lastBatchLimits).toFixed(1)}`,
    );
  }
  for (const seed of [1, 5, 7, 8]) {
    const two = closedLoopModel(1.25, 60, 1.05, () => 16, 0.5, seed);
    assert.ok(
      mean(two.lastBatchLimits) >= 10,
      `seed ${seed}, batch limit: mean over the last 5 s ${mean(two.lastBatchLimits).toFixed(1)}`,
    );
    assert.ok(two.upstreamLineMean < 2.5, `seed ${seed}: line mean ${two.upstreamLineMean.toFixed(2)}`);
  }
});

test('the batch limit follows an upstream that grows: the old knee is forgotten', () => {
  // 16 slots for 15 s, then 32: the limit's slow growth near the old knee must not keep it there.
  const grown = closedLoopModel(1.25, 40, 1.05, (t) => (t < 15_000 ? 16 : 32));
  const last = grown.lastBatchLimits;
  assert.ok(
    Math.min(...last) >= 29,
    `batch limit over the last 5 s ${Math.min(...last)}..${Math.max(...last)}`,
  );
});

test('without a batch tolerance the batch limit is the limit; with one it never exceeds it', () => {
  for (const batchTolerance of [undefined, 1.05]) {
    const { limiter, clock } = setup({
      probeIntervalMs: 5_000,
      tolerance: 1.25,
      ...(batchTolerance === undefined ? {} : { batchTolerance }),
    });
    const random = seeded(3);
    for (let i = 0; i < 20_000; i++) {
      const rtt = 100 * (1 + random() * (i % 3000 < 1500 ? 0.1 : 1));
      clock.t += rtt / 10;
      limiter.onSample(rtt, Math.ceil(random() * limiter.limit));
      if (i % 997 === 0) limiter.onOverload();
      if (batchTolerance === undefined) assert.equal(limiter.batchLimit, limiter.limit, `sample ${i}`);
      else
        assert.ok(
          limiter.batchLimit <= limiter.limit,
          `sample ${i}: ${limiter.batchLimit} > ${limiter.limit}`,
        );
      assert.ok(limiter.batchLimit >= 2);
    }
  }
});

test('a probe takes the batch limit to min with the limit and restores both; an overload cuts both', () => {
  const { limiter, clock, sample } = setup({
    probeIntervalMs: 60_000,
    tolerance: 1.25,
    batchTolerance: 1.05,
  });
  for (let i = 0; i < 300; i++) sample(100);
  assert.equal(limiter.limit, 200);
  const batchBefore = limiter.batchLimit;
  assert.ok(batchBefore > 100, `batch limit ${batchBefore} grew under steady latency`);
  clock.t += 60_000;
  sample(100);
  assert.equal(limiter.limit, 2);
  assert.equal(limiter.batchLimit, 2);
  for (let i = 0; i < 8; i++) sample(100);
  assert.equal(limiter.limit, 200);
  assert.equal(limiter.batchLimit, batchBefore);
  limiter.onOverload();
  assert.equal(limiter.limit, 180);
  // The batch estimate is a real number in [batchBefore, batchBefore + 1): cut by a tenth.
  const cut = limiter.batchLimit;
  assert.ok(cut >= Math.floor(batchBefore * 0.9) && cut <= Math.floor((batchBefore + 1) * 0.9), `${cut}`);
});
