/**
 * The admission phases of the bench (bench/run.ts runs them; BENCH_ONLY=admission runs only them):
 *   a. the cost of key limits: saturation throughput through Sluice without limits, with limits on the
 *      memory backend and with the same limits on Redis (limits high enough never to refuse), interleaved
 *      rounds, median;
 *   b. a burst against a capacity-limited upstream (the simulator with --max-concurrency): steady
 *      interactive traffic alone, then the same plus ten times as much batch traffic, through Sluice with
 *      adaptive concurrency (its defaults, then with a batch limit) and, as the reference, through Sluice
 *      without it. The figure is how much the interactive p99 grows in the burst (target: at most 1.2×),
 *      what happens to the batch requests, and how long requests waited in the upstream's own line.
 *      BENCH_ONLY=burst runs this part alone.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { defaultBatchTolerance } from '../src/config/schema.js';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { percentile, saturation } from './load.js';
import { startSluice, type PhaseContext } from './phase.js';
import type { Service } from './processes.js';

export type AdmissionBenchContext = PhaseContext;

const redisUrl = 'redis://127.0.0.1:6379/0';
const benchKey = 'sk-bench-key-000000';

// Sluice from the bench's own build (dist/, or the dist-* of a parallel build) rather than through
// bin/sluice.js, which always loads dist/: with the Node flags of the bin's shebang, so it runs as users
// run it.

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// a. The cost of limits

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Deletes the keys a run wrote under its own prefix (SCAN, not KEYS: it does not block a shared Redis). */
async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** What the key carries in an overhead phase: limits that never refuse, or a budget that never runs out. */
type Overhead = 'limits' | 'budgets';
const keyExtras: Record<Overhead, string> = {
  limits: ', limits: { rpm: 100000000, tpm: 10000000000, concurrency: 100000 }',
  budgets: ', budget: { usd: 1000000000, period: total }',
};

function limitsYaml(
  fast: string,
  state: string | undefined,
  limited: boolean,
  kind: Overhead = 'limits',
): string {
  const limits = limited ? keyExtras[kind] : '';
  return [
    ...(state === undefined ? [] : [state]),
    'providers:',
    `  - { name: fast, kind: openai-compatible, base_url: "${fast}/v1", api_key: sk-upstream }`,
    'models:',
    '  - { name: bench-model, targets: [{ provider: fast, model: gpt-4o-mini }] }',
    'keys:',
    `  - { name: bench, key: ${benchKey}${limits} }`,
    '',
  ].join('\n');
}

export interface OverheadResult {
  rps: { none: number; memory: number; redis: number | null };
  rounds: { none: number[]; memory: number[]; redis: number[] };
  errors: { none: number; memory: number; redis: number };
  /** Ratios of the medians. */
  memory_vs_none: number;
  redis_vs_none: number | null;
  /** The same ratio within each round (the three measured back to back), steadier on a noisy machine. */
  memory_vs_none_by_round: number[];
  redis_vs_none_by_round: number[];
  redis_skipped?: string;
  redis_keys_deleted?: number;
}

async function limitsOverhead(
  ctx: AdmissionBenchContext,
  kind: Overhead = 'limits',
): Promise<OverheadResult> {
  const prefix = `{sluice-bench-${randomBytes(6).toString('hex')}}:`;
  const redisUp = await redisAnswers();
  if (!redisUp) console.error(`admission: Redis at ${redisUrl} does not answer; skipping the Redis variant`);
  const services: Partial<Record<'none' | 'memory' | 'redis', Service>> = {
    none: await startSluice(
      ctx,
      `sluice (no ${kind})`,
      `${kind}-none`,
      limitsYaml(ctx.fastUrl, undefined, false),
    ),
    memory: await startSluice(
      ctx,
      `sluice (${kind}, memory)`,
      `${kind}-memory`,
      limitsYaml(ctx.fastUrl, undefined, true, kind),
    ),
  };
  if (redisUp) {
    const state = `state: { backend: redis, redis_url: "${redisUrl}", key_prefix: "${prefix}" }`;
    services.redis = await startSluice(
      ctx,
      `sluice (${kind}, redis)`,
      `${kind}-redis`,
      limitsYaml(ctx.fastUrl, state, true, kind),
    );
  }
  const order = (['none', 'memory', 'redis'] as const).filter((name) => services[name] !== undefined);
  const rounds = { none: [] as number[], memory: [] as number[], redis: [] as number[] };
  const errors = { none: 0, memory: 0, redis: 0 };
  try {
    for (const name of order) await saturation((services[name] as Service).url, 2, 64);
    for (let r = 0; r < ctx.rounds; r++) {
      for (const name of order) {
        const result = await saturation((services[name] as Service).url, ctx.seconds, 64);
        rounds[name].push(result.rps);
        errors[name] += result.errors + result.non2xx;
        console.error(`${kind} round ${r + 1} ${name}: ${Math.round(result.rps)} req/s`);
      }
    }
  } finally {
    await Promise.all(order.map((name) => (services[name] as Service).stop()));
  }
  const none = median(rounds.none);
  const memory = median(rounds.memory);
  const redis = redisUp ? median(rounds.redis) : null;
  const result: OverheadResult = {
    rps: {
      none: Math.round(none),
      memory: Math.round(memory),
      redis: redis === null ? null : Math.round(redis),
    },
    rounds,
    errors,
    memory_vs_none: round(memory / none, 3),
    redis_vs_none: redis === null ? null : round(redis / none, 3),
    memory_vs_none_by_round: rounds.memory.map((rps, r) => round(rps / (rounds.none[r] as number), 3)),
    redis_vs_none_by_round: rounds.redis.map((rps, r) => round(rps / (rounds.none[r] as number), 3)),
  };
  if (redisUp) result.redis_keys_deleted = await deleteRedisKeys(prefix);
  else result.redis_skipped = `Redis at ${redisUrl} did not answer`;
  return result;
}

// ---------------------------------------------------------------------------------------------------
// b. A burst against a capacity-limited upstream

/**
 * The upstream: 16 served at once, each non-stream answer 50 ms + 20 tokens at 400/s = 100 ms. With
 * steady service times answers that start together end together (what pacing is for), and a batch limit
 * can tell a one-request line from noise; BENCH_BURST_JITTER_MS=N adds a uniform 0..N ms to each answer,
 * to see the settings against a noisier upstream (docs/limits.md has a run at 50).
 */
const upstream = {
  maxConcurrency: 16,
  ttftMs: 50,
  tokensPerSecond: 400,
  outputTokens: 20,
  latencyJitterMs: Math.max(0, Number(process.env['BENCH_BURST_JITTER_MS'] ?? 0) || 0),
};
/** Answers a second at full capacity, at the mean service time. */
const upstreamCapacityRps =
  (upstream.maxConcurrency * 1000) /
  (upstream.latencyJitterMs / 2 +
    upstream.ttftMs +
    (upstream.outputTokens * 1000) / upstream.tokensPerSecond);
/** Interactive alone uses an eighth of the upstream; with batch at 10× the offered load is 1.4× capacity. */
const interactiveRps = 20;
const batchRps = 10 * interactiveRps;
const interactiveKey = 'sk-interactive-000000';
const batchKey = 'sk-batch-000000';
const burstBody = JSON.stringify({
  model: 'bench-burst',
  messages: [{ role: 'user', content: 'Say hello in a few words.' }],
  max_tokens: upstream.outputTokens,
});

/**
 * The bench's adaptive mode runs with the defaults, whose batch limit (admission.adaptive_concurrency.
 * batch_tolerance, 1.02) keeps the upstream's own line near empty with batch work alone;
 * BENCH_BURST_BATCH_TOLERANCE sets another. The third mode is one limit for both classes (batch_tolerance
 * at the tolerance, 1.25): the controller then keeps the line about (tolerance − 1) × the upstream's
 * capacity deep (docs/limits.md), and interactive requests wait in it like any other.
 */
const batchTolerance = process.env['BENCH_BURST_BATCH_TOLERANCE'];

/** off: no admission; adaptive: adaptive concurrency with its defaults; one_limit: without a batch limit. */
type BurstMode = 'off' | 'adaptive' | 'one_limit';

function burstYaml(simulator: string, mode: BurstMode): string {
  const admission = {
    off: [],
    adaptive: [
      batchTolerance === undefined
        ? 'admission: { adaptive_concurrency: { enabled: true } }'
        : `admission: { adaptive_concurrency: { enabled: true, batch_tolerance: ${Number(batchTolerance)} } }`,
    ],
    one_limit: ['admission: { adaptive_concurrency: { enabled: true, batch_tolerance: 1.25 } }'],
  }[mode];
  return [
    ...admission,
    'providers:',
    // Connections enough for every request the burst leaves waiting, so none waits in Sluice's connection
    // pool: without admission the line forms at the upstream, as it would at a real provider.
    `  - { name: limited, kind: openai-compatible, base_url: "${simulator}/v1", api_key: sk-upstream, max_connections: 4000 }`,
    'models:',
    '  - { name: bench-burst, targets: [{ provider: limited, model: gpt-4o-mini }] }',
    'keys:',
    `  - { name: interactive, key: ${interactiveKey}, priority: interactive }`,
    `  - { name: batch, key: ${batchKey}, priority: batch }`,
    '',
  ].join('\n');
}

interface Traffic {
  name: 'interactive' | 'batch';
  key: string;
  rps: number;
}

export interface ClassOutcome {
  sent: number;
  ok: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Shed requests (503) by the reason in Sluice's message ("... was shed (deadline)"), else their code. */
  shed: Record<string, number>;
  /** Shed requests by the second they were scheduled in. */
  shed_by_second: number[];
  /** The first shed answer's message and Retry-After, to show what a client is told. */
  shed_example?: { message: string; retry_after: string | undefined };
  /** Connection errors. */
  errors: number;
  /** Latency of the 200s, from the scheduled send time to the whole answer. */
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** p99 of the 200s by the second they were scheduled in: shows a transient apart from a steady state. */
  p99_by_second_ms: number[];
}

function messageOf(body: string): string {
  try {
    return String((JSON.parse(body) as { error?: { message?: unknown } }).error?.message ?? body);
  } catch {
    return body;
  }
}

function shedReason(body: string): string {
  const match = /shed \((\w+)\)/.exec(body);
  if (match) return match[1] as string;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } };
    return String(parsed.error?.code ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/**
 * Open-loop, fixed-rate load for several traffic classes at once: each request is sent at its scheduled
 * time whether or not earlier ones have answered, and its latency counts from that time. A closed-loop
 * generator (autocannon's connections) would hide exactly what this phase measures: when the upstream
 * slows, a closed loop slows its own sending, so no line forms anywhere and the overload never happens.
 * Each class has its own pool with connections enough for all it has outstanding: a request waiting for a
 * client connection would be a queue in the load generator, not in the gateway.
 */
async function openLoop(
  url: string,
  traffic: Traffic[],
  seconds: number,
): Promise<Record<string, ClassOutcome>> {
  const start = performance.now();
  const classes = traffic.map((t) => ({
    ...t,
    pool: new Pool(url, { connections: 8_000, keepAliveTimeout: 10_000 }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
    total: Math.round(t.rps * seconds),
    interval: 1000 / t.rps,
    sent: 0,
    ok: 0,
    errors: 0,
    statuses: {} as Record<string, number>,
    shed: {} as Record<string, number>,
    latencies: [] as number[],
    bySecond: [] as number[][],
    shedBySecond: [] as number[],
    shedExample: undefined as ClassOutcome['shed_example'],
  }));
  const pending: Promise<void>[] = [];
  type Class = (typeof classes)[number];
  const fire = (c: Class, scheduled: number): Promise<void> =>
    c.pool
      .request({ path: '/v1/chat/completions', method: 'POST', headers: c.headers, body: burstBody })
      .then(async (res) => {
        const text = await res.body.text();
        const status = String(res.statusCode);
        c.statuses[status] = (c.statuses[status] ?? 0) + 1;
        if (res.statusCode === 200) {
          c.ok++;
          const latency = performance.now() - scheduled;
          c.latencies.push(latency);
          (c.bySecond[Math.floor((scheduled - start) / 1000)] ??= []).push(latency);
        } else if (res.statusCode === 503) {
          const reason = shedReason(text);
          c.shed[reason] = (c.shed[reason] ?? 0) + 1;
          const second = Math.floor((scheduled - start) / 1000);
          c.shedBySecond[second] = (c.shedBySecond[second] ?? 0) + 1;
          c.shedExample ??= {
            message: messageOf(text),
            retry_after: res.headers['retry-after'] as string | undefined,
          };
        }
      })
      .catch(() => {
        c.errors++;
      });
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      let done = true;
      for (const c of classes) {
        while (c.sent < c.total && start + c.sent * c.interval <= now) {
          pending.push(fire(c, start + c.sent * c.interval));
          c.sent++;
        }
        if (c.sent < c.total) done = false;
      }
      if (done) return resolve();
      // A timer, not setImmediate: a spinning generator would steal the CPU of the processes it measures.
      setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  await Promise.all(classes.map((c) => c.pool.close()));
  const outcomes: Record<string, ClassOutcome> = {};
  for (const c of classes) {
    const sorted = c.latencies.sort((a, b) => a - b);
    outcomes[c.name] = {
      sent: c.sent,
      ok: c.ok,
      statuses: c.statuses,
      shed: c.shed,
      shed_by_second: Array.from(c.shedBySecond, (count) => count ?? 0),
      ...(c.shedExample === undefined ? {} : { shed_example: c.shedExample }),
      errors: c.errors,
      p50_ms: round(percentile(sorted, 50), 1),
      p99_ms: round(percentile(sorted, 99), 1),
      max_ms: round(sorted[sorted.length - 1] ?? Number.NaN, 1),
      p99_by_second_ms: Array.from(c.bySecond, (second) =>
        round(
          percentile(
            (second ?? []).sort((a, b) => a - b),
            99,
          ),
          1,
        ),
      ),
    };
  }
  return outcomes;
}

/** One gauge over a phase: its mean and extremes, overall and in each second of the phase. */
export interface Series {
  mean: number;
  min: number;
  max: number;
  by_second: number[];
  min_by_second: number[];
  max_by_second: number[];
}

/** What the upstream and the gateway held during a phase, sampled every 100 ms. */
export interface PhaseLoad {
  /** Requests open at the simulator (served + waiting for a slot): the gateway's concurrency toward it. */
  upstream_in_flight: Series;
  /** Of those, waiting for one of the simulator's serving slots. */
  upstream_queued: Series;
  /**
   * How long requests waited in the simulator's line for a serving slot (both classes: the line is FIFO,
   * so an interactive request waits as long as any other arriving then), and the share that waited at all.
   */
  upstream_wait_ms: { p50: number; p90: number; p99: number; max: number; waited_share: number };
  /** From the gateway's /metrics, with adaptive concurrency: sluice_adaptive_concurrency_limit. */
  gateway_limit?: Series;
  /** sluice_admission_queue_length by priority. */
  gateway_queued_interactive?: Series;
  gateway_queued_batch?: Series;
  /** From the first send to the last answer (the backlog's drain included). */
  wall_s: number;
}

class Recorder {
  private readonly samples: [number, number][] = [];
  constructor(private readonly start: number) {}
  add(value: number): void {
    this.samples.push([performance.now() - this.start, value]);
  }
  series(): Series | undefined {
    if (this.samples.length === 0) return undefined;
    const mean = (values: number[]): number =>
      round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 1);
    const seconds: number[][] = [];
    for (const [at, value] of this.samples) (seconds[Math.floor(at / 1000)] ??= []).push(value);
    const values = this.samples.map(([, value]) => value);
    return {
      mean: mean(values),
      min: Math.min(...values),
      max: Math.max(...values),
      by_second: Array.from(seconds, (second) => mean(second ?? [])),
      min_by_second: Array.from(seconds, (second) => Math.min(...(second ?? [Number.NaN]))),
      max_by_second: Array.from(seconds, (second) => Math.max(...(second ?? [Number.NaN]))),
    };
  }
}

/** Sums the samples of one gauge in Prometheus text whose labels contain `labels` (e.g. priority="batch"). */
function gauge(text: string, name: string, labels = ''): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(labels)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

type Waits = Record<'interactive' | 'batch', { sum: number; count: number }>;

/** The gateway's sluice_admission_queue_wait_seconds so far, by priority; undefined without admission. */
async function gatewayWaits(url: string): Promise<Waits | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const of = (priority: string) => ({
    sum: gauge(text, 'sluice_admission_queue_wait_seconds_sum', `priority="${priority}"`) ?? 0,
    count: gauge(text, 'sluice_admission_queue_wait_seconds_count', `priority="${priority}"`) ?? 0,
  });
  if (!text.includes('sluice_admission_queue_wait_seconds_count{')) return undefined;
  return { interactive: of('interactive'), batch: of('batch') };
}

function waitSummary(waits: number[]): PhaseLoad['upstream_wait_ms'] {
  waits.sort((a, b) => a - b);
  const at = (p: number): number => round(percentile(waits, p), 1);
  return {
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: round(waits.at(-1) ?? 0, 1),
    // Under a millisecond is the simulator's own turn of the event loop, not a wait for a slot.
    waited_share: round(waits.filter((w) => w >= 1).length / Math.max(1, waits.length), 2),
  };
}

async function observed<T>(
  sim: SimulatorHandle,
  gatewayUrl: string,
  run: () => Promise<T>,
): Promise<{ result: T; load: PhaseLoad }> {
  const start = performance.now();
  const inFlight = new Recorder(start);
  const queued = new Recorder(start);
  const limit = new Recorder(start);
  const interactive = new Recorder(start);
  const batch = new Recorder(start);
  const waits: number[] = [];
  sim.capacity.onStart = (waitedMs) => waits.push(waitedMs);
  const upstreamSampler = setInterval(() => {
    inFlight.add(sim.stats.inFlight);
    queued.add(sim.capacity.queued);
  }, 100);
  // The gateway's gauges cost it a /metrics render each (about a millisecond): 10 a second is noise next
  // to ~200 requests, and fast enough to see the limit's dips.
  let polling = false;
  const gatewaySampler = setInterval(() => {
    if (polling) return;
    polling = true;
    fetch(`${gatewayUrl}/metrics`)
      .then((res) => res.text())
      .then((text) => {
        const value = gauge(text, 'sluice_adaptive_concurrency_limit');
        if (value !== undefined) limit.add(value);
        const waiting = gauge(text, 'sluice_admission_queue_length', 'priority="interactive"');
        if (waiting !== undefined) interactive.add(waiting);
        const waitingBatch = gauge(text, 'sluice_admission_queue_length', 'priority="batch"');
        if (waitingBatch !== undefined) batch.add(waitingBatch);
      })
      .catch(() => undefined)
      .finally(() => (polling = false));
  }, 100);
  try {
    const result = await run();
    const load: PhaseLoad = {
      upstream_in_flight: inFlight.series() as Series,
      upstream_queued: queued.series() as Series,
      upstream_wait_ms: waitSummary(waits),
      wall_s: round((performance.now() - start) / 1000, 2),
    };
    const gatewayLimit = limit.series();
    if (gatewayLimit !== undefined) {
      load.gateway_limit = gatewayLimit;
      load.gateway_queued_interactive = interactive.series() as Series;
      load.gateway_queued_batch = batch.series() as Series;
    }
    return { result, load };
  } finally {
    clearInterval(upstreamSampler);
    clearInterval(gatewaySampler);
    sim.capacity.onStart = undefined;
  }
}

export interface BurstRun {
  unloaded: { interactive: ClassOutcome; load: PhaseLoad };
  burst: {
    interactive: ClassOutcome;
    batch: ClassOutcome;
    load: PhaseLoad;
    /** Mean wait for a slot in the gateway's admission queue (its histogram), null without admission. */
    gateway_wait_mean_ms: { interactive: number | null; batch: number | null };
    /** 200s of both classes per second of the phase's wall time: what the upstream's capacity yielded. */
    served_per_s: number;
  };
  interactive_p99_burst_vs_unloaded: number;
  interactive_p50_burst_vs_unloaded: number;
  batch_shed_fraction: number;
}

async function burstRun(
  ctx: AdmissionBenchContext,
  sim: SimulatorHandle,
  mode: BurstMode,
  seconds: number,
): Promise<BurstRun> {
  const label = mode;
  const sluice = await startSluice(
    ctx,
    `sluice (admission ${label})`,
    `burst-${label}`,
    burstYaml(sim.url, mode),
  );
  try {
    const interactive: Traffic = { name: 'interactive', key: interactiveKey, rps: interactiveRps };
    const batch: Traffic = { name: 'batch', key: batchKey, rps: batchRps };
    // Warm-up: connections, JIT, and with adaptive concurrency the limit's first baseline (unloaded TTFT).
    await openLoop(sluice.url, [interactive], 2);
    await pause(300);
    const unloaded = await observed(sim, sluice.url, () => openLoop(sluice.url, [interactive], seconds));
    console.error(
      `burst ${label} unloaded: interactive p50 ${unloaded.result['interactive']?.p50_ms} ms, p99 ${unloaded.result['interactive']?.p99_ms} ms`,
    );
    await pause(300);
    const waitsBefore = await gatewayWaits(sluice.url);
    const burst = await observed(sim, sluice.url, () => openLoop(sluice.url, [interactive, batch], seconds));
    const waitsAfter = await gatewayWaits(sluice.url);
    const meanWaitMs = (priority: 'interactive' | 'batch'): number | null => {
      if (waitsBefore === undefined || waitsAfter === undefined) return null;
      const count = waitsAfter[priority].count - waitsBefore[priority].count;
      return count > 0
        ? round(((waitsAfter[priority].sum - waitsBefore[priority].sum) * 1000) / count, 1)
        : 0;
    };
    const i0 = unloaded.result['interactive'] as ClassOutcome;
    const i1 = burst.result['interactive'] as ClassOutcome;
    const b1 = burst.result['batch'] as ClassOutcome;
    const shed = Object.values(b1.shed).reduce((a, b) => a + b, 0);
    console.error(
      `burst ${label} burst: interactive p50 ${i1.p50_ms} ms, p99 ${i1.p99_ms} ms; batch ok ${b1.ok}/${b1.sent}, shed ${shed}, p50 ${b1.p50_ms} ms, p99 ${b1.p99_ms} ms; upstream in flight mean ${burst.load.upstream_in_flight.mean}, max ${burst.load.upstream_in_flight.max}${burst.load.gateway_limit === undefined ? '' : `; adaptive limit mean ${burst.load.gateway_limit.mean}, by second ${burst.load.gateway_limit.by_second.join(' ')}`}`,
    );
    return {
      unloaded: { interactive: i0, load: unloaded.load },
      burst: {
        interactive: i1,
        batch: b1,
        load: burst.load,
        gateway_wait_mean_ms: { interactive: meanWaitMs('interactive'), batch: meanWaitMs('batch') },
        served_per_s: round((i1.ok + b1.ok) / burst.load.wall_s, 1),
      },
      interactive_p99_burst_vs_unloaded: round(i1.p99_ms / i0.p99_ms, 2),
      interactive_p50_burst_vs_unloaded: round(i1.p50_ms / i0.p50_ms, 2),
      batch_shed_fraction: round(shed / Math.max(1, b1.sent), 3),
    };
  } finally {
    await sluice.stop();
  }
}

export interface BurstResult {
  upstream: typeof upstream & { capacity_rps: number };
  interactive_rps: number;
  batch_rps: number;
  seconds_per_phase: number;
  request: string;
  /** Adaptive concurrency with its defaults (a batch limit), or with BENCH_BURST_BATCH_TOLERANCE. */
  adaptive: BurstRun;
  /** The batch tolerance the adaptive mode ran with (the default unless set). */
  batch_tolerance: number;
  /** Adaptive concurrency with one limit for both classes (batch_tolerance at the tolerance). */
  one_limit: BurstRun;
  off: BurstRun;
}

async function burstScenario(ctx: AdmissionBenchContext): Promise<BurstResult> {
  // In this process, unlike the other simulators, so the phase can sample its serving slots and line
  // (SimulatorHandle.capacity); its load (~200 small answers a second) is light next to the generator's.
  const sim = await startSimulator({ port: 0, ...upstream });
  // 20 s per phase: at 20 interactive requests a second that is 400 samples, so the p99 is the 4th
  // slowest rather than the 2nd of 200, whose one outlier (a GC pause, the host) decided the ratio.
  const seconds = ctx.quick ? 3 : 20;
  try {
    const off = await burstRun(ctx, sim, 'off', seconds);
    await pause(500);
    const adaptive = await burstRun(ctx, sim, 'adaptive', seconds);
    await pause(500);
    const oneLimit = await burstRun(ctx, sim, 'one_limit', seconds);
    return {
      upstream: { ...upstream, capacity_rps: upstreamCapacityRps },
      interactive_rps: interactiveRps,
      batch_rps: batchRps,
      seconds_per_phase: seconds,
      request: 'non-stream chat completion; latency from the scheduled send time to the whole answer',
      adaptive,
      batch_tolerance: batchTolerance === undefined ? defaultBatchTolerance : Number(batchTolerance),
      one_limit: oneLimit,
      off,
    };
  } finally {
    await sim.close();
  }
}

// ---------------------------------------------------------------------------------------------------

export interface AdmissionResult {
  limits_overhead: OverheadResult;
  /** The same with a budget on the key (Redis: with leases, the default). */
  budgets_overhead: OverheadResult;
  burst: BurstResult;
  targets: { interactive_p99_burst_vs_unloaded: string };
}

export async function runAdmission(ctx: AdmissionBenchContext): Promise<AdmissionResult> {
  const limits_overhead = await limitsOverhead(ctx);
  const budgets_overhead = await limitsOverhead(ctx, 'budgets');
  const burst = await burstScenario(ctx);
  return {
    limits_overhead,
    budgets_overhead,
    burst,
    targets: { interactive_p99_burst_vs_unloaded: '<= 1.2' },
  };
}

/** The burst scenario alone (BENCH_ONLY=burst), for work on the controller: a minute and a half. */
export async function runBurst(
  ctx: AdmissionBenchContext,
): Promise<Pick<AdmissionResult, 'burst' | 'targets'>> {
  return { burst: await burstScenario(ctx), targets: { interactive_p99_burst_vs_unloaded: '<= 1.2' } };
}

function limitText(limit: Series | undefined): string {
  if (limit === undefined) return '';
  // Each second's minimum shows dips the means hide; the first second still has the initial limit and the
  // last is the drain, so they are left out.
  const inner = (values: number[]): number[] => (values.length > 2 ? values.slice(1, -1) : values);
  const lows = inner(limit.min_by_second);
  const highs = inner(limit.max_by_second);
  return `; adaptive limit mean ${limit.mean}, each second's low ${Math.min(...lows)}..${Math.max(...lows)} and high ${Math.min(...highs)}..${Math.max(...highs)}`;
}

function shedText(outcome: ClassOutcome): string {
  const reasons = Object.entries(outcome.shed).map(([reason, count]) => `${reason} ${count}`);
  return reasons.length === 0 ? 'none shed' : `shed: ${reasons.join(', ')}`;
}

/** The rows of the printed table: what, figures, verdict. */
export function admissionRows(
  result: Pick<AdmissionResult, 'burst'> & Partial<AdmissionResult>,
): [string, string, string][] {
  const b = result.burst;
  const overheadRow = (label: string, o: OverheadResult): [string, string, string] => [
    label,
    `none ${o.rps.none} · memory ${o.rps.memory} · redis ${o.rps.redis ?? 'skipped'}`,
    `memory/none ${o.memory_vs_none} (rounds ${o.memory_vs_none_by_round.join(', ')}) · redis/none ${o.redis_vs_none === null ? (o.redis_skipped as string) : `${o.redis_vs_none} (rounds ${o.redis_vs_none_by_round.join(', ')})`}`,
  ];
  const rows: [string, string, string][] = [];
  if (result.limits_overhead)
    rows.push(overheadRow('key limits, saturation (req/s)', result.limits_overhead));
  if (result.budgets_overhead)
    rows.push(overheadRow('key budget, saturation (req/s)', result.budgets_overhead));
  for (const [name, run] of [
    [`adaptive (batch_tolerance ${b.batch_tolerance})`, b.adaptive],
    ['adaptive, one limit (batch_tolerance 1.25)', b.one_limit],
    ['off', b.off],
  ] as const) {
    rows.push(
      [
        `burst, admission ${name}: interactive p50/p99 (ms)`,
        `unloaded ${run.unloaded.interactive.p50_ms} / ${run.unloaded.interactive.p99_ms} · burst ${run.burst.interactive.p50_ms} / ${run.burst.interactive.p99_ms} (ok ${run.burst.interactive.ok}/${run.burst.interactive.sent}, ${shedText(run.burst.interactive)})`,
        `p99 burst/unloaded ${run.interactive_p99_burst_vs_unloaded}${name !== 'off' ? ` (target ≤ 1.2); mean wait in Sluice's queue ${run.burst.gateway_wait_mean_ms.interactive} ms` : ''}`,
      ],
      [
        `burst, admission ${name}: batch`,
        `ok ${run.burst.batch.ok}/${run.burst.batch.sent}, p50/p99 ${run.burst.batch.p50_ms} / ${run.burst.batch.p99_ms} ms, ${shedText(run.burst.batch)}`,
        `shed fraction ${run.batch_shed_fraction}; served ${run.burst.served_per_s}/s of ${b.upstream.capacity_rps}; upstream in flight mean ${run.burst.load.upstream_in_flight.mean} (queued ${run.burst.load.upstream_queued.mean}; wait in its line p50/p99 ${run.burst.load.upstream_wait_ms.p50} / ${run.burst.load.upstream_wait_ms.p99} ms)${limitText(run.burst.load.gateway_limit)}`,
      ],
    );
  }
  return rows;
}
