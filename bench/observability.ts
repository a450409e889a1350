/**
 * The observability phase of the bench (bench/run.ts runs it; BENCH_ONLY=observability runs only it):
 *   a. the cost of full observability: saturation throughput and latency at a fixed rate of the same
 *      gateway (access log on, as shipped) with tracing off, exporting every trace, and exporting 1%, to a
 *      local OTLP sink (bench/otlp-sink.ts: answers 200 and counts what it got), in interleaved rounds,
 *      reported as ratios to off;
 *   b. in this process, the per-request work tracing leaves on the hot path when it is off: the trace and
 *      span ids (pooled random bytes, against randomBytes per id) and the upstream traceparent.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { newSpanId, newTraceId } from '../src/observability/tracing/random-ids.js';
import { formatTraceparent } from '../src/observability/tracing/trace-context.js';
import { createSampler } from '../src/observability/tracing/sampler.js';
import { fixedRate, saturation } from './load.js';
import { startSluice, type PhaseContext } from './phase.js';
import { cpuMs, type Service } from './processes.js';

export type ObservabilityBenchContext = PhaseContext;

const modes = ['off', 'traced_100', 'traced_1'] as const;
type Mode = (typeof modes)[number];

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------------
// The OTLP sink, a process of its own (bench/otlp-sink.ts)

const sinkScript = fileURLToPath(new URL('./otlp-sink.js', import.meta.url));

interface Sink {
  url: string;
  reset(): Promise<void>;
  stats(): Promise<{ requests: number; spans: number; bytes: number }>;
}

async function startSink(ctx: ObservabilityBenchContext): Promise<Sink> {
  const service = await ctx.start('otlp sink', sinkScript, [], /otlp sink listening on (http:\/\/\S+)/);
  return {
    url: service.url,
    reset: async () => {
      await (await fetch(`${service.url}/reset`, { method: 'POST' })).arrayBuffer();
    },
    stats: async () =>
      (await (await fetch(`${service.url}/stats`)).json()) as {
        requests: number;
        spans: number;
        bytes: number;
      },
  };
}

// ---------------------------------------------------------------------------------------------------
// a. Gateways

/**
 * No ledger: the three gateways run side by side, and one embedded database shared by three processes
 * would measure their contention for it, not tracing.
 */
function yaml(fast: string): string {
  return [
    'database: { url: none }',
    'providers:',
    `  - { name: fast, kind: openai-compatible, base_url: "${fast}/v1", api_key: sk-upstream }`,
    'models:',
    '  - { name: bench-model, targets: [{ provider: fast, model: gpt-4o-mini }] }',
    'keys:',
    '  - { name: bench, key: sk-bench-key-000000 }',
    '',
  ].join('\n');
}

function envFor(mode: Mode, sink: Sink): Record<string, string> {
  if (mode === 'off') return {};
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_SERVICE_NAME: `sluice-bench-${mode}`,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: mode === 'traced_100' ? '1' : '0.01',
  };
}

function startTraced(ctx: ObservabilityBenchContext, mode: Mode, sink: Sink): Promise<Service> {
  return startSluice(ctx, `sluice (tracing ${mode})`, `observability-${mode}`, yaml(ctx.fastUrl), {
    env: envFor(mode, sink),
  });
}

export interface ObservabilityResult {
  seconds_per_round: number;
  rps: Record<Mode, number>;
  rounds: Record<Mode, number[]>;
  errors: Record<Mode, number>;
  /** Medians' ratios to off. */
  traced_100_vs_off: number;
  traced_1_vs_off: number;
  /** The same ratio within each round, steadier on a noisy machine. */
  traced_100_vs_off_by_round: number[];
  traced_1_vs_off_by_round: number[];
  /** At a fixed rate below saturation: latency, and the gateway's CPU time per request (from /proc). */
  latency_ms: Record<
    Mode,
    { rate: number; p50: number; p99: number; ok: number; sent: number; cpu_us_per_request: number }
  >;
  /** What the sink received during the throughput rounds: spans per answered request shows drops. */
  exported: Record<Mode, { requests: number; spans: number; bytes: number; spans_per_request: number }>;
  hot_path_ns: {
    trace_and_span_id_pooled: number;
    trace_and_span_id_random_bytes: number;
    random_uuid_for_scale: number;
    attempt_span_id_and_traceparent: number;
    sampling_decision: number;
  };
}

// ---------------------------------------------------------------------------------------------------
// b. The hot path, in process

function nsPerOp(iterations: number, op: () => unknown): number {
  let sink: unknown;
  for (let i = 0; i < iterations / 10; i++) sink = op();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = op();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === Symbol.for('never')) console.error(sink);
  return round(ns, 1);
}

function hotPath(): ObservabilityResult['hot_path_ns'] {
  const n = 1_000_000;
  const traceId = newTraceId();
  const sample = createSampler({ root: 'traceidratio', ratio: 0.01, parentBased: true });
  return {
    trace_and_span_id_pooled: nsPerOp(n, () => newTraceId() + newSpanId()),
    trace_and_span_id_random_bytes: nsPerOp(
      n,
      () => randomBytes(16).toString('hex') + randomBytes(8).toString('hex'),
    ),
    random_uuid_for_scale: nsPerOp(n, () => randomUUID()),
    attempt_span_id_and_traceparent: nsPerOp(n, () => formatTraceparent(traceId, newSpanId(), false)),
    sampling_decision: nsPerOp(n, () => sample(newTraceId(), false, false)),
  };
}

export async function runObservability(ctx: ObservabilityBenchContext): Promise<ObservabilityResult> {
  const hot = hotPath();
  console.error(`observability: hot path (ns) ${JSON.stringify(hot)}`);
  const seconds = Math.min(ctx.seconds, 5);
  const sink = await startSink(ctx);
  const services = {} as Record<Mode, Service>;
  try {
    for (const mode of modes) services[mode] = await startTraced(ctx, mode, sink);
    const rounds = { off: [], traced_100: [], traced_1: [] } as Record<Mode, number[]>;
    const errors = { off: 0, traced_100: 0, traced_1: 0 } as Record<Mode, number>;
    const exported = {} as ObservabilityResult['exported'];
    const answered = { off: 0, traced_100: 0, traced_1: 0 } as Record<Mode, number>;
    const received = {
      off: { requests: 0, spans: 0, bytes: 0 },
      traced_100: { requests: 0, spans: 0, bytes: 0 },
      traced_1: { requests: 0, spans: 0, bytes: 0 },
    } as Record<Mode, { requests: number; spans: number; bytes: number }>;
    // A warm-up long enough for the export path to be compiled too (it runs once per batch, not per request).
    for (const mode of modes) await saturation(services[mode].url, 5, 64);
    // The batch processor exports within 5 s: what the warm-up sent must not count in the rounds.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    for (let r = 0; r < ctx.rounds; r++) {
      for (const mode of modes) {
        await sink.reset();
        const result = await saturation(services[mode].url, seconds, 64);
        // Let the last batch (scheduled at most 5 s later) arrive before the next mode starts.
        if (mode !== 'off') await new Promise((resolve) => setTimeout(resolve, 5_500));
        rounds[mode].push(result.rps);
        errors[mode] += result.errors + result.non2xx;
        answered[mode] += Math.round(result.rps * seconds);
        const got = await sink.stats();
        received[mode].requests += got.requests;
        received[mode].spans += got.spans;
        received[mode].bytes += got.bytes;
        console.error(
          `observability round ${r + 1} ${mode}: ${Math.round(result.rps)} req/s, sink got ${got.spans} spans in ${got.requests} exports`,
        );
      }
    }
    for (const mode of modes) {
      exported[mode] = {
        ...received[mode],
        spans_per_request: round(received[mode].spans / Math.max(1, answered[mode]), 3),
      };
    }
    // Latency at a fixed rate well below saturation: what tracing adds to one request.
    const rate = ctx.quick ? 500 : 1000;
    const latency = {} as ObservabilityResult['latency_ms'];
    for (const mode of modes) {
      await fixedRate(services[mode].url, rate, 1);
      const before = await cpuMs(services[mode].pid);
      const l = await fixedRate(services[mode].url, rate, seconds);
      const cpu = (((await cpuMs(services[mode].pid)) - before) * 1000) / l.sent;
      latency[mode] = {
        rate,
        p50: round(l.p50Ms),
        p99: round(l.p99Ms),
        ok: l.ok,
        sent: l.sent,
        cpu_us_per_request: round(cpu, 1),
      };
      console.error(
        `observability latency ${mode}: p50 ${l.p50Ms.toFixed(3)} ms, p99 ${l.p99Ms.toFixed(3)} ms, CPU ${cpu.toFixed(1)} µs/request`,
      );
    }
    const rps = Object.fromEntries(modes.map((m) => [m, median(rounds[m])])) as Record<Mode, number>;
    const byRound = (mode: Mode): number[] =>
      rounds[mode].map((v, i) => round(v / (rounds.off[i] as number)));
    return {
      seconds_per_round: seconds,
      rps: Object.fromEntries(modes.map((m) => [m, Math.round(rps[m])])) as Record<Mode, number>,
      rounds,
      errors,
      traced_100_vs_off: round(rps.traced_100 / rps.off),
      traced_1_vs_off: round(rps.traced_1 / rps.off),
      traced_100_vs_off_by_round: byRound('traced_100'),
      traced_1_vs_off_by_round: byRound('traced_1'),
      latency_ms: latency,
      exported,
      hot_path_ns: hot,
    };
  } finally {
    // The sink is stopped with the run's other services.
    await Promise.all(Object.values(services).map((s) => s.stop()));
  }
}

/** The rows of the printed table: what, figures, verdict. */
export function observabilityRows(result: ObservabilityResult): [string, string, string][] {
  const l = result.latency_ms;
  const e = result.exported;
  const h = result.hot_path_ns;
  return [
    [
      'tracing, saturation (req/s)',
      `off ${result.rps.off} · 100% ${result.rps.traced_100} · 1% ${result.rps.traced_1}`,
      `100%/off ${result.traced_100_vs_off} (rounds ${result.traced_100_vs_off_by_round.join(', ')}) · 1%/off ${result.traced_1_vs_off} (rounds ${result.traced_1_vs_off_by_round.join(', ')})`,
    ],
    [
      `tracing, latency @${l.off.rate} rps p50/p99 (ms)`,
      `off ${l.off.p50} / ${l.off.p99} · 100% ${l.traced_100.p50} / ${l.traced_100.p99} · 1% ${l.traced_1.p50} / ${l.traced_1.p99}`,
      `p99 added: 100% ${round(l.traced_100.p99 - l.off.p99)} · 1% ${round(l.traced_1.p99 - l.off.p99)}`,
    ],
    [
      `tracing, CPU per request @${l.off.rate} rps (µs)`,
      `off ${l.off.cpu_us_per_request} · 100% ${l.traced_100.cpu_us_per_request} · 1% ${l.traced_1.cpu_us_per_request}`,
      `100%/off ${round(l.traced_100.cpu_us_per_request / l.off.cpu_us_per_request, 2)} · 1%/off ${round(l.traced_1.cpu_us_per_request / l.off.cpu_us_per_request, 2)}`,
    ],
    [
      'tracing, spans exported per request',
      `100% ${e.traced_100.spans_per_request} (${e.traced_100.spans} spans, ${e.traced_100.requests} exports) · 1% ${e.traced_1.spans_per_request}`,
      'a traced request is 3 spans here (server, auth, attempt); fewer means dropped at the queue',
    ],
    [
      'tracing off, hot path per request (ns)',
      `trace+span id ${h.trace_and_span_id_pooled} (randomBytes: ${h.trace_and_span_id_random_bytes}; randomUUID ${h.random_uuid_for_scale}) · attempt id+traceparent ${h.attempt_span_id_and_traceparent}`,
      `sampling decision (tracing on) ${h.sampling_decision}`,
    ],
  ];
}
