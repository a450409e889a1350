/**
 * `npm run bench`: starts the simulator, a bare Node proxy and Sluice as separate processes, and measures
 * in one run, against direct-to-simulator and the bare proxy:
 *   1. saturation throughput, non-stream, small bodies (autocannon)
 *   2. latency p50/p99 at a fixed 1,000 RPS (open loop)
 *   3. time to first token added on streams
 *   4. Sluice's RSS with 1,000 concurrent slow streams
 * Prints a table and writes bench/results/<time>.json and bench/results/latest.json.
 * BENCH_QUICK=1 shortens every phase (for a smoke run; the figures are then noisier).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { concurrentStreams, fixedRate, saturation, streamTtft } from './load.js';
import { rssMb, startService, type Service } from './processes.js';

const quick = process.env['BENCH_QUICK'] === '1';
const seconds = quick ? 3 : 10;
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
// Sluice is started as users start it, through its bin (whose shebang carries the Node flags it runs with).
const sluiceBin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const bareProxy = fileURLToPath(new URL('./bare-proxy.js', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const simulatorLine = /sluice simulator listening on (http:\/\/\S+)/;

const services: Service[] = [];
async function start(name: string, script: string, args: string[], pattern: RegExp, executable = false): Promise<Service> {
  const service = await startService(name, script, args, pattern, executable);
  services.push(service);
  return service;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

async function main(): Promise<void> {
  const fast = await start('simulator (fast)', cli, ['simulate', '--port', '0', '--output-tokens', '16'], simulatorLine);
  const streaming = await start('simulator (streams)', cli, ['simulate', '--port', '0', '--ttft-ms', '20', '--tokens-per-second', '500', '--output-tokens', '20'], simulatorLine);
  const slow = await start('simulator (slow streams)', cli, ['simulate', '--port', '0', '--tokens-per-second', '10', '--output-tokens', quick ? '30' : '60'], simulatorLine);
  const bare = await start('bare proxy', bareProxy, [fast.url], /bare proxy listening on (http:\/\/\S+)/);

  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const configPath = join(dir, 'bench.yaml');
  await writeFile(
    configPath,
    [
      'providers:',
      `  - { name: fast, kind: openai-compatible, base_url: "${fast.url}/v1", api_key: sk-upstream }`,
      `  - { name: streaming, kind: openai-compatible, base_url: "${streaming.url}/v1", api_key: sk-upstream }`,
      `  - { name: slow, kind: openai-compatible, base_url: "${slow.url}/v1", api_key: sk-upstream, max_connections: 2000 }`,
      'models:',
      '  - { name: bench-model, targets: [{ provider: fast, model: gpt-4o-mini }] }',
      '  - { name: bench-stream, targets: [{ provider: streaming, model: gpt-4o-mini }] }',
      '  - { name: bench-slow, targets: [{ provider: slow, model: gpt-4o-mini }] }',
      'keys:',
      '  - { name: bench, key: sk-bench-key-000000 }',
      '',
    ].join('\n'),
  );
  const sluice = await start('sluice', sluiceBin, ['serve', '--config', configPath, '--port', '0'], /sluice listening on (http:\/\/\S+)/, true);
  const rssIdle = await rssMb(sluice.pid);

  const targets = { direct: fast.url, bare: bare.url, sluice: sluice.url };
  console.error(`bench: ${quick ? 'quick' : 'full'} run, ${cpus().length} cores, node ${process.version}`);

  // 1. Saturation throughput. A short warm-up first so every process has JIT-compiled its hot path.
  const throughput: Record<string, { rps: number; errors: number; non2xx: number }> = {};
  for (const [name, url] of Object.entries(targets)) {
    await saturation(url, 2, 64);
    throughput[name] = await saturation(url, seconds, 64);
    console.error(`throughput ${name}: ${Math.round(throughput[name].rps)} req/s`);
  }

  // 2. Latency at a fixed rate.
  const latency: Record<string, Awaited<ReturnType<typeof fixedRate>>> = {};
  for (const [name, url] of Object.entries(targets)) {
    await fixedRate(url, 1000, 1);
    latency[name] = await fixedRate(url, 1000, seconds);
    console.error(`latency ${name}: p50 ${latency[name].p50Ms.toFixed(3)} ms, p99 ${latency[name].p99Ms.toFixed(3)} ms`);
  }

  // 3. Time to first token on streams (simulator TTFT 20 ms).
  const streams = quick ? 100 : 400;
  const ttftDirect = await streamTtft(streaming.url, 'bench-stream', streams, 8);
  const ttftSluice = await streamTtft(sluice.url, 'bench-stream', streams, 8);
  console.error(`ttft direct p50 ${ttftDirect.p50Ms.toFixed(2)} ms, sluice p50 ${ttftSluice.p50Ms.toFixed(2)} ms`);

  // 4. Memory with 1,000 concurrent slow streams.
  const held = await concurrentStreams(sluice.url, 'bench-slow', 1000, () => rssMb(sluice.pid));
  console.error(`1000 streams: opened ${held.opened}, completed ${held.completed}, peak RSS ${held.peak.toFixed(1)} MB`);

  const bareRps = throughput['bare']!.rps;
  const result = {
    date: new Date().toISOString(),
    quick,
    node: process.version,
    cores: cpus().length,
    throughput_rps: Object.fromEntries(Object.entries(throughput).map(([k, v]) => [k, Math.round(v.rps)])),
    throughput_errors: Object.fromEntries(Object.entries(throughput).map(([k, v]) => [k, v.errors + v.non2xx])),
    sluice_vs_bare_throughput: round(throughput['sluice']!.rps / bareRps, 3),
    sluice_vs_direct_throughput: round(throughput['sluice']!.rps / throughput['direct']!.rps, 3),
    latency_at_1000_rps_ms: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, { p50: round(v.p50Ms, 3), p99: round(v.p99Ms, 3), ok: v.ok, sent: v.sent }])),
    sluice_added_p50_ms: round(latency['sluice']!.p50Ms - latency['direct']!.p50Ms, 3),
    sluice_added_p99_ms: round(latency['sluice']!.p99Ms - latency['direct']!.p99Ms, 3),
    bare_added_p99_ms: round(latency['bare']!.p99Ms - latency['direct']!.p99Ms, 3),
    ttft_ms: { direct: { p50: round(ttftDirect.p50Ms), p99: round(ttftDirect.p99Ms) }, sluice: { p50: round(ttftSluice.p50Ms), p99: round(ttftSluice.p99Ms) } },
    ttft_added_p50_ms: round(ttftSluice.p50Ms - ttftDirect.p50Ms, 3),
    ttft_added_p99_ms: round(ttftSluice.p99Ms - ttftDirect.p99Ms, 3),
    streams_1000: { opened: held.opened, completed: held.completed, rss_idle_mb: round(rssIdle, 1), rss_peak_mb: round(held.peak, 1) },
    targets: { sluice_vs_bare_throughput: '>= 0.75', sluice_added_p99_ms: '< 1', rss_peak_mb: '< 150' },
  };

  const rows: [string, string, string][] = [
    ['saturation throughput (req/s)', `direct ${result.throughput_rps['direct']} · bare ${result.throughput_rps['bare']} · sluice ${result.throughput_rps['sluice']}`, `sluice/bare ${result.sluice_vs_bare_throughput} (target ≥ 0.75)`],
    ['latency @1000 rps p50 (ms)', `direct ${latency['direct']!.p50Ms.toFixed(3)} · bare ${latency['bare']!.p50Ms.toFixed(3)} · sluice ${latency['sluice']!.p50Ms.toFixed(3)}`, `added ${result.sluice_added_p50_ms}`],
    ['latency @1000 rps p99 (ms)', `direct ${latency['direct']!.p99Ms.toFixed(3)} · bare ${latency['bare']!.p99Ms.toFixed(3)} · sluice ${latency['sluice']!.p99Ms.toFixed(3)}`, `added ${result.sluice_added_p99_ms} (target < 1)`],
    ['stream TTFT p50 / p99 (ms)', `direct ${ttftDirect.p50Ms.toFixed(2)} / ${ttftDirect.p99Ms.toFixed(2)} · sluice ${ttftSluice.p50Ms.toFixed(2)} / ${ttftSluice.p99Ms.toFixed(2)}`, `added ${result.ttft_added_p50_ms} / ${result.ttft_added_p99_ms}`],
    ['RSS, 1000 concurrent streams (MB)', `idle ${result.streams_1000.rss_idle_mb} · peak ${result.streams_1000.rss_peak_mb} (${held.opened} opened)`, 'target < 150'],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nSluice bench (${result.date}, node ${result.node}, ${result.cores} cores${quick ? ', QUICK' : ''})`);
  for (const [what, figures, verdict] of rows) console.log(`${what.padEnd(width)}  ${figures}  → ${verdict}`);

  await mkdir(resultsDir, { recursive: true });
  const json = JSON.stringify(result, null, 2) + '\n';
  await writeFile(join(resultsDir, `${result.date.replace(/[:.]/g, '-')}.json`), json);
  await writeFile(join(resultsDir, 'latest.json'), json);
  console.log(`\nwrote bench/results/latest.json`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all(services.map((s) => s.stop()));
  });
