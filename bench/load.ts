/**
 * Load generators of the bench. Saturation throughput uses autocannon (closed loop). Latency at a fixed
 * rate uses an open-loop generator written here because autocannon's histogram has 1 ms resolution and the
 * figure that matters (added p99) is below a millisecond: requests are sent on schedule whether or not
 * earlier ones have answered, and latency is measured from the scheduled time (no coordinated omission).
 */
import autocannon from 'autocannon';
import { Pool, type Dispatcher } from 'undici';

const benchHeaders = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-key-000000' };

/** The one request every load phase sends: a chat completion with the bench key. */
function chatRequest(body: string): Dispatcher.RequestOptions {
  return { path: '/v1/chat/completions', method: 'POST', headers: benchHeaders, body };
}

export const chatBody = JSON.stringify({
  model: 'bench-model',
  messages: [{ role: 'user', content: 'Say hello in a few words.' }],
  max_tokens: 16,
});
export const streamBody = (model: string): string =>
  JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Say hello in a few words.' }] });
/** The non-stream bench request for another model (the translation phase). */
export const chatBodyFor = (model: string, stream = false): string =>
  JSON.stringify({
    model,
    ...(stream ? { stream: true } : {}),
    messages: [{ role: 'user', content: 'Say hello in a few words.' }],
    max_tokens: 16,
  });

export async function saturation(
  url: string,
  seconds: number,
  connections: number,
  body: string = chatBody,
): Promise<{ rps: number; errors: number; non2xx: number }> {
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    headers: benchHeaders,
    body,
    connections,
    duration: seconds,
  });
  return { rps: result.requests.average, errors: result.errors + result.timeouts, non2xx: result.non2xx };
}

export interface LatencyResult {
  sent: number;
  ok: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function fixedRate(url: string, rps: number, seconds: number): Promise<LatencyResult> {
  const pool = new Pool(url, { connections: 128, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  const total = Math.round(rps * seconds);
  const interval = 1000 / rps;
  const start = performance.now();
  let sent = 0;
  let ok = 0;
  const pending: Promise<void>[] = [];
  const fire = (scheduled: number): Promise<void> =>
    pool
      .request(chatRequest(chatBody))
      .then(async (res) => {
        await res.body.text();
        if (res.statusCode === 200) ok++;
        latencies.push(performance.now() - scheduled);
      })
      .catch(() => undefined);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        pending.push(fire(start + sent * interval));
        sent++;
      }
      if (sent >= total) return resolve();
      // A timer, not setImmediate: a spinning generator would steal the CPU the proxies under test need.
      setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    sent,
    ok,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

/** Time to the first content chunk of streams, a few at a time. */
export async function streamTtft(
  url: string,
  model: string,
  count: number,
  concurrency: number,
): Promise<{ p50Ms: number; p99Ms: number }> {
  const pool = new Pool(url, { connections: concurrency });
  const samples: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const started = performance.now();
      const res = await pool.request(chatRequest(streamBody(model)));
      let seen = false;
      for await (const chunk of res.body) {
        if (!seen && (chunk as Buffer).includes('"content":" ')) {
          samples.push(performance.now() - started);
          seen = true;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  samples.sort((a, b) => a - b);
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

/** Opens `count` slow streams at once and calls `sample` while all of them are open. */
export async function concurrentStreams(
  url: string,
  model: string,
  count: number,
  sample: () => Promise<number>,
): Promise<{ opened: number; completed: number; peak: number; allOpen: number }> {
  const pool = new Pool(url, { connections: count, keepAliveTimeout: 10_000 });
  let opened = 0;
  let completed = 0;
  const all = Array.from({ length: count }, async () => {
    const res = await pool.request(chatRequest(streamBody(model)));
    let first = true;
    for await (const chunk of res.body) {
      if (first && (chunk as Buffer).length > 0) {
        opened++;
        first = false;
      }
    }
    completed++;
  });
  let peak = 0;
  // The highest sample while every stream was open and none had finished yet.
  let allOpen = Number.NaN;
  const sampler = setInterval(() => {
    const open = opened === count && completed === 0;
    sample().then(
      (rss) => {
        peak = Math.max(peak, rss);
        if (open) allOpen = Number.isNaN(allOpen) ? rss : Math.max(allOpen, rss);
      },
      () => undefined,
    );
  }, 100);
  await Promise.all(all);
  clearInterval(sampler);
  await pool.close();
  return { opened, completed, peak, allOpen };
}
