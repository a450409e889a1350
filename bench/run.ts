/**
 * `npm run bench`: starts the simulator, a bare Node proxy and Sluice as separate processes, and measures
 * in one run, against direct-to-simulator and the bare proxy:
 *   1. saturation throughput, non-stream, small bodies (autocannon), in interleaved rounds (median)
 *   2. latency p50/p99 at a fixed 1,000 RPS (open loop), and CPU time per request of bare and Sluice
 *   3. time to first token added on streams
 *   4. the cost of translation: an OpenAI client through Sluice to an Anthropic upstream against plain
 *      OpenAI pass-through, non-stream and stream, and the cost of routing (3 targets, latency strategy)
 *      against one target; saturation throughput in interleaved rounds
 *   5. RSS of a freshly started Sluice holding 1,000 concurrent slow streams, and of a fresh bare proxy
 *      holding the same streams
 *   6. admission (bench/admission.ts): the throughput cost of key limits on the memory and Redis backends,
 *      and a burst of batch traffic against a capacity-limited upstream, with and without adaptive
 *      concurrency, measured by the interactive p99 (open loop)
 *   7. observability (bench/observability.ts): throughput and latency with tracing off, exporting every
 *      trace and exporting 1% over OTLP to a local sink, as ratios to off; the hot path's id generation
 * Prints a table and writes bench/results/<time>.json and bench/results/latest.json.
 * BENCH_QUICK=1 shortens every phase (a smoke run; the figures are then noisier).
 * BENCH_ONLY=admission runs phase 6 alone and writes bench/results/<time>-admission.json (latest.json,
 * the committed record of a full run, is left alone); BENCH_ONLY=burst runs only its burst scenario, and
 * BENCH_ONLY=observability runs phase 7 alone, BENCH_ONLY=memory phase 5 and BENCH_ONLY=core phases 1 and 2,
 * the same way.
 *
 * On a 2-core machine the load generator, the simulator and the proxy under test share the cores, so
 * absolute figures mostly measure contention; the ratios between targets measured in the same run, and
 * CPU per request, are the figures to compare.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chatBodyFor,
  concurrentStreams,
  fixedRate,
  saturation,
  streamTtft,
  type LatencyResult,
} from './load.js';
import { admissionRows, runAdmission, runBurst, type AdmissionBenchContext } from './admission.js';
import { observabilityRows, runObservability } from './observability.js';
import { cpuMs, pinSelf, rssMb, startService, type Service, type ServiceOptions } from './processes.js';

const quick = process.env['BENCH_QUICK'] === '1';
const only = process.env['BENCH_ONLY'] ?? '';
const seconds = quick ? 3 : 8;
const rounds = quick ? 1 : 3;
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
// Sluice is started as users start it, through its bin (whose shebang carries the Node flags it runs with).
const sluiceBin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const bareProxy = fileURLToPath(new URL('./bare-proxy.js', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const simulatorLine = /sluice simulator listening on (http:\/\/\S+)/;
const sluiceLine = /sluice listening on (http:\/\/\S+)/;
const bareLine = /bare proxy listening on (http:\/\/\S+)/;

// On a machine with 2+ cores the proxy under test gets a core of its own (1) and the load generator and
// the simulators share the other (0): the same for the bare proxy and for Sluice, and much steadier
// figures than letting the scheduler mix all of them. BENCH_PIN=0 turns it off.
const proxyCore = 1;
const pinned = process.env['BENCH_PIN'] !== '0' && cpus().length >= 2 && pinSelf(0);

const services: Service[] = [];
async function start(
  name: string,
  script: string,
  args: string[],
  pattern: RegExp,
  options: ServiceOptions = {},
): Promise<Service> {
  const service = await startService(name, script, args, pattern, {
    ...options,
    core: pinned ? options.core : undefined,
  });
  services.push(service);
  return service;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * `data`: the gateway's own fresh data directory (ledger), in the run's temporary folder. Without it the
 * embedded ledger would be ./data of the working directory, shared by every gateway of the run and grown
 * by every earlier run: a database of millions of rows measures that history, not the gateway.
 */
function configYaml(fast: string, streaming: string, slow: string, anthropic: string, data: string): string {
  return [
    `database: { url: embedded, path: "${data}" }`,
    'providers:',
    `  - { name: anthropic, kind: anthropic, base_url: "${anthropic}", api_key: sk-upstream }`,
    // Three upstream accounts on the same simulator, for the routing phase.
    ...[1, 2, 3].map(
      (n) =>
        `  - { name: fast-${n}, kind: openai-compatible, base_url: "${fast}/v1", api_key: sk-upstream-${n} }`,
    ),
    `  - { name: fast, kind: openai-compatible, base_url: "${fast}/v1", api_key: sk-upstream }`,
    `  - { name: streaming, kind: openai-compatible, base_url: "${streaming}/v1", api_key: sk-upstream }`,
    `  - { name: slow, kind: openai-compatible, base_url: "${slow}/v1", api_key: sk-upstream, max_connections: 2000 }`,
    'models:',
    '  - { name: bench-model, targets: [{ provider: fast, model: gpt-4o-mini }] }',
    '  - { name: bench-stream, targets: [{ provider: streaming, model: gpt-4o-mini }] }',
    '  - { name: bench-slow, targets: [{ provider: slow, model: gpt-4o-mini }] }',
    '  - { name: bench-anthropic, targets: [{ provider: anthropic, model: claude-sonnet-4-5 }] }',
    '  - name: bench-routed',
    '    strategy: latency',
    '    targets: [{ provider: fast-1, model: gpt-4o-mini }, { provider: fast-2, model: gpt-4o-mini }, { provider: fast-3, model: gpt-4o-mini }]',
    'keys:',
    '  - { name: bench, key: sk-bench-key-000000 }',
    '',
  ].join('\n');
}

function fastSimulator(): Promise<Service> {
  return start('simulator (fast)', cli, ['simulate', '--port', '0', '--output-tokens', '16'], simulatorLine);
}

function admissionContext(fast: Service, dir: string): AdmissionBenchContext {
  return { quick, seconds, rounds, fastUrl: fast.url, dir, proxyCore, start };
}

/** Prints the table and writes the result under each of `files` in bench/results/. */
async function report(
  result: { date: string },
  rows: [string, string, string][],
  files: string[],
): Promise<void> {
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `\nSluice bench (${result.date}, node ${process.version}, ${cpus().length} cores${pinned ? ', proxy under test pinned to its own core' : ''}${quick ? ', QUICK' : ''})`,
  );
  for (const [what, figures, verdict] of rows) console.log(`${what.padEnd(width)}  ${figures}  → ${verdict}`);
  await mkdir(resultsDir, { recursive: true });
  const json = JSON.stringify(result, null, 2) + '\n';
  for (const file of files) await writeFile(join(resultsDir, file), json);
  console.log(`\nwrote ${files.map((file) => `bench/results/${file}`).join(' and ')}`);
}

function header() {
  return {
    date: new Date().toISOString(),
    quick,
    node: process.version,
    cores: cpus().length,
    rounds,
    seconds_per_phase: seconds,
    pinned: pinned ? `proxies on core ${proxyCore}; load generator and simulators on core 0` : false,
  };
}

/** Answers paced at 10 tokens a second: the memory phase's 1,000 concurrent streams. */
function slowSimulator(): Promise<Service> {
  return start(
    'simulator (slow streams)',
    cli,
    ['simulate', '--port', '0', '--tokens-per-second', '10', '--output-tokens', quick ? '30' : '60'],
    simulatorLine,
  );
}

/** Resident memory (MB) of the memory phase; `rss_all_open_mb` is the highest sample while every stream was open. */
interface StreamsMemory {
  opened: number;
  completed: number;
  rss_idle_mb: number;
  rss_all_open_mb: number;
  rss_peak_mb: number;
  bare_completed: number;
  bare_rss_idle_mb: number;
  bare_rss_peak_mb: number;
}

/**
 * Phase 5: a freshly started Sluice holding 1,000 concurrent slow streams, then a fresh bare proxy (Node's
 * defaults) holding the same streams, as the reference for what Node itself holds for them.
 */
async function memoryPhase(slowUrl: string, configPath: string, dir: string): Promise<StreamsMemory> {
  const fresh = await start(
    'sluice (fresh)',
    sluiceBin,
    ['serve', '--config', configPath, '--port', '0'],
    sluiceLine,
    {
      executable: true,
      core: proxyCore,
      logFile: join(dir, 'sluice-fresh.log'),
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssIdle = await rssMb(fresh.pid);
  const held = await concurrentStreams(fresh.url, 'bench-slow', 1000, () => rssMb(fresh.pid));
  console.error(
    `1000 streams: opened ${held.opened}, completed ${held.completed}, peak RSS ${held.peak.toFixed(1)} MB`,
  );
  await fresh.stop();
  const bareStreams = await start('bare proxy (streams)', bareProxy, [slowUrl], bareLine, {
    core: proxyCore,
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const bareRssIdle = await rssMb(bareStreams.pid);
  const bareHeld = await concurrentStreams(bareStreams.url, 'bench-slow', 1000, () => rssMb(bareStreams.pid));
  console.error(
    `1000 streams, bare proxy: completed ${bareHeld.completed}, peak RSS ${bareHeld.peak.toFixed(1)} MB`,
  );
  await bareStreams.stop();
  return {
    opened: held.opened,
    completed: held.completed,
    rss_idle_mb: round(rssIdle, 1),
    rss_all_open_mb: round(held.allOpen, 1),
    rss_peak_mb: round(held.peak, 1),
    bare_completed: bareHeld.completed,
    bare_rss_idle_mb: round(bareRssIdle, 1),
    bare_rss_peak_mb: round(bareHeld.peak, 1),
  };
}

function memoryRow(m: StreamsMemory): [string, string, string] {
  return [
    'RSS, 1000 concurrent streams (MB)',
    `idle ${m.rss_idle_mb} · all open ${m.rss_all_open_mb} · peak ${m.rss_peak_mb} (${m.opened} opened) · bare proxy idle ${m.bare_rss_idle_mb} · peak ${m.bare_rss_peak_mb}`,
    'target < 150',
  ];
}

/**
 * The gateways of phases 1 and 2: Sluice on `configPath`, and the same gateway with its access log off
 * (`quietYaml` is its config without that line), which shows what one log line per request costs.
 */
async function startGateways(
  dir: string,
  configPath: string,
  quietYaml: string,
): Promise<{ sluice: Service; quiet: Service }> {
  const sluice = await start(
    'sluice',
    sluiceBin,
    ['serve', '--config', configPath, '--port', '0'],
    sluiceLine,
    {
      executable: true,
      core: proxyCore,
      logFile: join(dir, 'sluice.log'),
    },
  );
  const quietConfigPath = join(dir, 'bench-quiet.yaml');
  await writeFile(quietConfigPath, `logging: { access_log: false }\n${quietYaml}`);
  const quiet = await start(
    'sluice (no access log)',
    sluiceBin,
    ['serve', '--config', quietConfigPath, '--port', '0'],
    sluiceLine,
    { executable: true, core: proxyCore, logFile: join(dir, 'sluice-quiet.log') },
  );
  return { sluice, quiet };
}

/**
 * Phases 1 and 2: saturation throughput of direct, bare, Sluice and Sluice without its access log, in
 * interleaved rounds (median); then latency at a fixed 1,000 RPS with the CPU each proxy spends a
 * request. Stops `quiet` after phase 1. Returns the result's fields and the table's rows.
 */
async function corePhases(services: { direct: Service; bare: Service; sluice: Service; quiet: Service }) {
  const targets = {
    direct: services.direct.url,
    bare: services.bare.url,
    sluice: services.sluice.url,
  } as const;
  type Target = keyof typeof targets;
  const names = Object.keys(targets) as Target[];
  const pids: Partial<Record<Target, number>> = { bare: services.bare.pid, sluice: services.sluice.pid };

  // 1. Saturation throughput: a warm-up for each, then interleaved rounds so drift hits every target alike.
  type Measured = Target | 'sluice_no_access_log';
  const measured: Record<Measured, string> = { ...targets, sluice_no_access_log: services.quiet.url };
  const order = Object.keys(measured) as Measured[];
  for (const name of order) await saturation(measured[name], 2, 64);
  const samples: Record<Measured, number[]> = { direct: [], bare: [], sluice: [], sluice_no_access_log: [] };
  const errors: Record<Measured, number> = { direct: 0, bare: 0, sluice: 0, sluice_no_access_log: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const name of order) {
      const result = await saturation(measured[name], seconds, 64);
      samples[name].push(result.rps);
      errors[name] += result.errors + result.non2xx;
      console.error(`throughput round ${r + 1} ${name}: ${Math.round(result.rps)} req/s`);
    }
  }
  const rps = Object.fromEntries(order.map((n) => [n, median(samples[n])])) as Record<Measured, number>;
  await services.quiet.stop();

  // 2. Latency at a fixed rate, with the CPU each proxy spends per request.
  const latency = {} as Record<Target, LatencyResult>;
  const cpuPerRequest: Partial<Record<Target, number>> = {};
  for (const name of names) {
    await fixedRate(targets[name], 1000, 1);
    const pid = pids[name];
    const before = pid === undefined ? 0 : await cpuMs(pid);
    latency[name] = await fixedRate(targets[name], 1000, seconds);
    if (pid !== undefined) cpuPerRequest[name] = (((await cpuMs(pid)) - before) * 1000) / latency[name].sent;
    console.error(
      `latency ${name}: p50 ${latency[name].p50Ms.toFixed(3)} ms, p99 ${latency[name].p99Ms.toFixed(3)} ms`,
    );
  }

  const result = {
    throughput_rps: Object.fromEntries(order.map((n) => [n, Math.round(rps[n])])),
    throughput_rounds: samples,
    throughput_errors: errors,
    sluice_vs_bare_throughput: round(rps.sluice / rps.bare, 3),
    sluice_no_access_log_vs_bare_throughput: round(rps.sluice_no_access_log / rps.bare, 3),
    sluice_vs_direct_throughput: round(rps.sluice / rps.direct, 3),
    latency_at_1000_rps_ms: Object.fromEntries(
      names.map((n) => [
        n,
        {
          p50: round(latency[n].p50Ms, 3),
          p99: round(latency[n].p99Ms, 3),
          ok: latency[n].ok,
          sent: latency[n].sent,
        },
      ]),
    ),
    sluice_added_p50_ms: round(latency.sluice.p50Ms - latency.direct.p50Ms, 3),
    sluice_added_p99_ms: round(latency.sluice.p99Ms - latency.direct.p99Ms, 3),
    bare_added_p50_ms: round(latency.bare.p50Ms - latency.direct.p50Ms, 3),
    bare_added_p99_ms: round(latency.bare.p99Ms - latency.direct.p99Ms, 3),
    cpu_us_per_request_at_1000_rps: {
      bare: round(cpuPerRequest.bare ?? Number.NaN, 1),
      sluice: round(cpuPerRequest.sluice ?? Number.NaN, 1),
    },
    targets: { sluice_vs_bare_throughput: '>= 0.75', sluice_added_p99_ms: '< 1' },
  };
  const f3 = (n: number): string => n.toFixed(3);
  const cpu = result.cpu_us_per_request_at_1000_rps;
  const rows: [string, string, string][] = [
    [
      'saturation throughput (req/s)',
      `direct ${result.throughput_rps['direct']} · bare ${result.throughput_rps['bare']} · sluice ${result.throughput_rps['sluice']}`,
      `sluice/bare ${result.sluice_vs_bare_throughput} (target ≥ 0.75)`,
    ],
    [
      '  same, access log off (req/s)',
      `sluice ${result.throughput_rps['sluice_no_access_log']}`,
      `sluice/bare ${result.sluice_no_access_log_vs_bare_throughput}`,
    ],
    [
      'latency @1000 rps p50 (ms)',
      `direct ${f3(latency.direct.p50Ms)} · bare ${f3(latency.bare.p50Ms)} · sluice ${f3(latency.sluice.p50Ms)}`,
      `added: bare ${result.bare_added_p50_ms} · sluice ${result.sluice_added_p50_ms}`,
    ],
    [
      'latency @1000 rps p99 (ms)',
      `direct ${f3(latency.direct.p99Ms)} · bare ${f3(latency.bare.p99Ms)} · sluice ${f3(latency.sluice.p99Ms)}`,
      `added: bare ${result.bare_added_p99_ms} · sluice ${result.sluice_added_p99_ms} (target < 1)`,
    ],
    [
      'CPU per request @1000 rps (µs)',
      `bare ${cpu.bare} · sluice ${cpu.sluice}`,
      `sluice/bare ${round(cpu.sluice / cpu.bare, 2)}`,
    ],
  ];
  return { result, rows };
}

/** BENCH_ONLY=core: phases 1 and 2 alone (throughput, latency and CPU a request), for hot-path work. */
async function coreOnly(): Promise<void> {
  const fast = await fastSimulator();
  const bare = await start('bare proxy', bareProxy, [fast.url], bareLine, { core: proxyCore });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const configPath = join(dir, 'bench.yaml');
  // Only bench-model is used; the other models' providers point at the same simulator.
  const yaml = (data: string): string => configYaml(fast.url, fast.url, fast.url, fast.url, join(dir, data));
  await writeFile(configPath, yaml('data-sluice'));
  const { sluice, quiet } = await startGateways(dir, configPath, yaml('data-quiet'));
  console.error(
    `bench: core phases only, ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, node ${process.version}, ${pinned ? `proxies pinned to core ${proxyCore}` : 'no pinning'}`,
  );
  const core = await corePhases({ direct: fast, bare, sluice, quiet });
  const result = { ...header(), ...core.result };
  await report(result, core.rows, [`${result.date.replace(/[:.]/g, '-')}-core.json`]);
}

/** BENCH_ONLY=memory: phase 5 alone. */
async function memoryOnly(): Promise<void> {
  const slow = await slowSimulator();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const configPath = join(dir, 'bench.yaml');
  // Only bench-slow is used; the other models' providers point at the same simulator.
  await writeFile(configPath, configYaml(slow.url, slow.url, slow.url, slow.url, join(dir, 'data-sluice')));
  console.error(
    `bench: memory phase only, ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, node ${process.version}, ${pinned ? `proxies pinned to core ${proxyCore}` : 'no pinning'}`,
  );
  const streams1000 = await memoryPhase(slow.url, configPath, dir);
  const result = { ...header(), streams_1000: streams1000 };
  await report(result, [memoryRow(streams1000)], [`${result.date.replace(/[:.]/g, '-')}-memory.json`]);
}

/** BENCH_ONLY=admission: phase 6 alone; BENCH_ONLY=burst: its burst scenario alone. */
async function admissionOnly(burstOnly: boolean): Promise<void> {
  const fast = await fastSimulator();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  console.error(
    `bench: ${burstOnly ? 'burst scenario' : 'admission phases'} only, ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, node ${process.version}, ${pinned ? `proxies pinned to core ${proxyCore}` : 'no pinning'}`,
  );
  const context = admissionContext(fast, dir);
  const admission = burstOnly ? await runBurst(context) : await runAdmission(context);
  const result = { ...header(), admission };
  const name = `${result.date.replace(/[:.]/g, '-')}-${burstOnly ? 'burst' : 'admission'}.json`;
  await report(result, admissionRows(admission), [name]);
}

/** BENCH_ONLY=observability: phase 7 alone. */
async function observabilityOnly(): Promise<void> {
  const fast = await fastSimulator();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  console.error(
    `bench: observability phase only, ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, node ${process.version}, ${pinned ? `proxies pinned to core ${proxyCore}` : 'no pinning'}`,
  );
  const observability = await runObservability(admissionContext(fast, dir));
  const result = { ...header(), observability };
  await report(result, observabilityRows(observability), [
    `${result.date.replace(/[:.]/g, '-')}-observability.json`,
  ]);
}

async function main(): Promise<void> {
  if (only === 'admission' || only === 'burst') return admissionOnly(only === 'burst');
  if (only === 'observability') return observabilityOnly();
  if (only === 'memory') return memoryOnly();
  if (only === 'core') return coreOnly();
  if (only !== '')
    throw new Error(
      `BENCH_ONLY=${only}: the phases that run alone are "core", "memory", "admission", "burst" and "observability"`,
    );
  const fast = await fastSimulator();
  const streaming = await start(
    'simulator (streams)',
    cli,
    ['simulate', '--port', '0', '--ttft-ms', '20', '--tokens-per-second', '500', '--output-tokens', '20'],
    simulatorLine,
  );
  const slow = await slowSimulator();
  // The same answers in Anthropic's wire format, for the translation phase.
  const anthropic = await start(
    'simulator (anthropic)',
    cli,
    ['simulate', '--port', '0', '--format', 'anthropic', '--output-tokens', '16'],
    simulatorLine,
  );
  const bare = await start('bare proxy', bareProxy, [fast.url], bareLine, {
    core: proxyCore,
  });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const configPath = join(dir, 'bench.yaml');
  await writeFile(
    configPath,
    configYaml(fast.url, streaming.url, slow.url, anthropic.url, join(dir, 'data-sluice')),
  );
  const { sluice, quiet } = await startGateways(
    dir,
    configPath,
    configYaml(fast.url, streaming.url, slow.url, anthropic.url, join(dir, 'data-quiet')),
  );
  console.error(
    `bench: ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, node ${process.version}, ${pinned ? `proxies pinned to core ${proxyCore}, load generator and simulators to core 0` : 'no pinning'}`,
  );

  const core = await corePhases({ direct: fast, bare, sluice, quiet });

  // 3. Time to first token on streams (simulator TTFT 20 ms).
  const streams = quick ? 100 : 400;
  const ttftDirect = await streamTtft(streaming.url, 'bench-stream', streams, 8);
  const ttftSluice = await streamTtft(sluice.url, 'bench-stream', streams, 8);
  console.error(
    `ttft p50 direct ${ttftDirect.p50Ms.toFixed(2)} ms, sluice ${ttftSluice.p50Ms.toFixed(2)} ms`,
  );

  // 4. Translation: the same Sluice, OpenAI client, OpenAI upstream (bytes pass through) against Anthropic
  // upstream (request translated out, answer or stream translated back), interleaved rounds.
  const translationCases = {
    passthrough: chatBodyFor('bench-model'),
    translated: chatBodyFor('bench-anthropic'),
    passthrough_stream: chatBodyFor('bench-model', true),
    translated_stream: chatBodyFor('bench-anthropic', true),
    routed_latency_3_targets: chatBodyFor('bench-routed'),
  } as const;
  type TranslationCase = keyof typeof translationCases;
  const translationOrder = Object.keys(translationCases) as TranslationCase[];
  const translationSamples = Object.fromEntries(translationOrder.map((c) => [c, [] as number[]])) as Record<
    TranslationCase,
    number[]
  >;
  let translationErrors = 0;
  for (const name of translationOrder) await saturation(sluice.url, 1, 64, translationCases[name]);
  for (let r = 0; r < rounds; r++) {
    for (const name of translationOrder) {
      const result = await saturation(sluice.url, quick ? 2 : 5, 64, translationCases[name]);
      translationSamples[name].push(result.rps);
      translationErrors += result.errors + result.non2xx;
      console.error(`translation round ${r + 1} ${name}: ${Math.round(result.rps)} req/s`);
    }
  }
  const translationRps = Object.fromEntries(
    translationOrder.map((c) => [c, median(translationSamples[c])]),
  ) as Record<TranslationCase, number>;

  // 5. Memory: a fresh Sluice (the earlier phases' heap growth would otherwise be counted) holding 1,000 streams.
  await sluice.stop();
  const streams1000 = await memoryPhase(slow.url, configPath, dir);

  // 6. Admission: limits' cost, and a burst against a capacity-limited upstream (bench/admission.ts).
  const admission = await runAdmission(admissionContext(fast, dir));

  // 7. Observability: tracing off, at 100% and at 1% (bench/observability.ts).
  const observability = await runObservability(admissionContext(fast, dir));

  const result = {
    ...header(),
    ...core.result,
    ttft_ms: {
      direct: { p50: round(ttftDirect.p50Ms), p99: round(ttftDirect.p99Ms) },
      sluice: { p50: round(ttftSluice.p50Ms), p99: round(ttftSluice.p99Ms) },
    },
    ttft_added_p50_ms: round(ttftSluice.p50Ms - ttftDirect.p50Ms, 3),
    ttft_added_p99_ms: round(ttftSluice.p99Ms - ttftDirect.p99Ms, 3),
    translation_rps: Object.fromEntries(translationOrder.map((c) => [c, Math.round(translationRps[c])])),
    translation_errors: translationErrors,
    translated_vs_passthrough_throughput: round(translationRps.translated / translationRps.passthrough, 3),
    translated_vs_passthrough_stream_throughput: round(
      translationRps.translated_stream / translationRps.passthrough_stream,
      3,
    ),
    routed_3_targets_latency_vs_single_target_throughput: round(
      translationRps.routed_latency_3_targets / translationRps.passthrough,
      3,
    ),
    streams_1000: streams1000,
    admission,
    observability,
    targets: { ...core.result.targets, rss_peak_mb: '< 150' },
  };

  const rows: [string, string, string][] = [
    ...core.rows,
    [
      'stream TTFT p50 / p99 (ms)',
      `direct ${ttftDirect.p50Ms.toFixed(2)} / ${ttftDirect.p99Ms.toFixed(2)} · sluice ${ttftSluice.p50Ms.toFixed(2)} / ${ttftSluice.p99Ms.toFixed(2)}`,
      `added ${result.ttft_added_p50_ms} / ${result.ttft_added_p99_ms}`,
    ],
    [
      'translation, OpenAI client (req/s)',
      `non-stream: to OpenAI ${result.translation_rps['passthrough']} · to Anthropic ${result.translation_rps['translated']}; stream: ${result.translation_rps['passthrough_stream']} · ${result.translation_rps['translated_stream']}`,
      `translated/pass-through ${result.translated_vs_passthrough_throughput} · stream ${result.translated_vs_passthrough_stream_throughput}`,
    ],
    [
      'routing, 3 targets, latency strategy (req/s)',
      `1 target ${result.translation_rps['passthrough']} · 3 targets ${result.translation_rps['routed_latency_3_targets']}`,
      `3 targets/1 target ${result.routed_3_targets_latency_vs_single_target_throughput}`,
    ],
    memoryRow(streams1000),
  ];
  rows.push(...admissionRows(admission));
  rows.push(...observabilityRows(observability));
  await report(result, rows, [`${result.date.replace(/[:.]/g, '-')}.json`, 'latest.json']);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all(services.map((s) => s.stop()));
  });
