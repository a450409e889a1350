/**
 * /metrics and Server-Timing through a real gateway with the simulator upstream: request counters by
 * team and target, tokens and cost, TTFT / TPOT / tokens-per-second histograms, idempotency cache results,
 * exemplars carrying a sampled request's trace id in OpenMetrics (and only there), label values that never
 * hold a key, a request id or what a client typed; and the Server-Timing entries of answers and errors.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const alphaKey = 'sk-metrics-alpha-0001';
const betaKey = 'sk-metrics-beta-00002';
/** USD per million tokens: large enough that one answer's cost is far from float noise. */
const price = { input_per_mtok: 1_000, output_per_mtok: 2_000 };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  exemplar?: { labels: Record<string, string>; value: number };
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === undefined) return labels;
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
    labels[match[1] as string] = match[2] as string;
  return labels;
}

/** The sample lines of an exposition (Prometheus text or OpenMetrics), with their exemplars. */
function samplesOf(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)(?: # \{([^}]*)\} (\S+)(?: \S+)?)?$/.exec(line);
    assert.ok(match !== null, `unparsable metrics line: ${line}`);
    const sample: Sample = {
      name: match[1] as string,
      labels: parseLabels(match[2]),
      value: Number(match[3]),
    };
    if (match[5] !== undefined) sample.exemplar = { labels: parseLabels(match[4]), value: Number(match[5]) };
    samples.push(sample);
  }
  return samples;
}

function matching(samples: Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The one sample of `name` with exactly these labels (besides `le`), or 0 when there is none yet. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = matching(samples, name, labels).filter(
    (s) => Object.keys(s.labels).length === Object.keys(labels).length,
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

async function scrape(gw: TestGateway, accept?: string): Promise<{ type: string; text: string }> {
  const response = await fetch(`${gw.url}/metrics`, accept === undefined ? {} : { headers: { accept } });
  assert.equal(response.status, 200);
  return { type: response.headers.get('content-type') ?? '', text: await response.text() };
}

const openMetricsAccept =
  'application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

/** Server-Timing entries in the order sent, each `name;dur=ms`. */
function timingOf(reply: Reply): { names: string[]; dur: Record<string, number> } {
  const header = reply.headers.get('server-timing');
  assert.ok(header !== null, 'server-timing header present');
  const names: string[] = [];
  const dur: Record<string, number> = {};
  for (const entry of header.split(',')) {
    const match = /^\s*(\w+);dur=(\d+(?:\.\d{1,3})?)\s*$/.exec(entry);
    assert.ok(match !== null, `server-timing entry "${entry}" is name;dur=milliseconds`);
    names.push(match[1] as string);
    dur[match[1] as string] = Number(match[2]);
  }
  return { names, dur };
}

/** Every part is non-negative and within the total; the parts of one attempt do not overlap. */
function assertTimingConsistent(timing: { names: string[]; dur: Record<string, number> }): void {
  const total = timing.dur['total'];
  assert.ok(total !== undefined && timing.names.at(-1) === 'total', 'total comes last');
  let parts = 0;
  for (const name of timing.names) {
    const value = timing.dur[name] as number;
    assert.ok(value >= 0, `${name} is non-negative`);
    assert.ok(value <= total, `${name} (${value}) is within total (${total})`);
    if (name !== 'total') parts += value;
  }
  // Rounding to a microsecond per entry at most.
  assert.ok(
    parts <= total + 0.005 * timing.names.length,
    `parts (${parts}) add up to at most total (${total})`,
  );
}

describe('metrics and Server-Timing through the gateway', () => {
  let sim: SimulatorHandle;
  let broken: SimulatorHandle;
  let late: SimulatorHandle;
  let gw: TestGateway;
  const requestIds: string[] = [];

  async function post(
    key: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body: JSON.stringify(body),
    });
    const id = response.headers.get('x-sluice-request-id');
    if (id !== null) requestIds.push(id);
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  const chat = (model: string, extra: Record<string, unknown> = {}) => ({
    model,
    messages: [{ role: 'user', content: 'Tell me something' }],
    ...extra,
  });

  before(async () => {
    // 20 ms to the response head, then 10 ms to the first token, then 5 ms per token.
    sim = await startSimulator({
      port: 0,
      latencyMs: 20,
      ttftMs: 10,
      tokensPerSecond: 200,
      outputTokens: 12,
    });
    broken = await startSimulator({ port: 0, errorRate: 1 });
    // The head after 20 ms, the first token 120 ms later, then 20 ms per token.
    late = await startSimulator({
      port: 0,
      latencyMs: 20,
      ttftMs: 120,
      tokensPerSecond: 50,
      outputTokens: 4,
    });
    gw = await startGateway({
      logging: { level: 'warn' },
      providers: [
        upstream('sim', sim.url),
        upstream('sim2', sim.url),
        upstream('broken', broken.url),
        upstream('late', late.url),
      ],
      models: [
        { name: 'chat-model', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }], price },
        { name: 'other-model', targets: [{ provider: 'sim2', model: 'gpt-4o' }], price },
        { name: 'down-model', targets: [{ provider: 'broken', model: 'gpt-4o-mini' }], price },
        { name: 'late-model', targets: [{ provider: 'late', model: 'gpt-4o-mini' }], price },
      ],
      keys: [
        // A budget puts the budget stage (admission) on alpha's path and its cost on ctx.costUsd.
        { name: 'alpha-app', key: alphaKey, team: 'alpha', budget: { usd: 1_000, period: 'monthly' } },
        { name: 'beta-app', key: betaKey, team: 'beta' },
      ],
    });
  });

  after(async () => {
    await gw.close();
    await sim.close();
    await broken.close();
    await late.close();
  });

  test('the Prometheus text format when the scraper asks for nothing in particular, without exemplars', async () => {
    await post(alphaKey, chat('chat-model'), {
      traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    });
    for (const accept of [
      undefined,
      '*/*',
      'text/plain',
      'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5',
    ]) {
      const { type, text } = await scrape(gw, accept);
      assert.match(type, /^text\/plain; version=0\.0\.4/, `Accept ${accept}`);
      assert.ok(!text.includes('# EOF'), 'no OpenMetrics terminator');
      assert.ok(!text.includes(' # {'), 'no exemplars in the Prometheus format');
      assert.match(text, /^# TYPE sluice_requests_total counter$/m);
    }
  });

  test('requests are counted by route, model, provider, target, team and status', async () => {
    const before = samplesOf((await scrape(gw)).text);
    for (let i = 0; i < 3; i++) assert.equal((await post(alphaKey, chat('chat-model'))).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await post(betaKey, chat('other-model'))).status, 200);
    assert.equal((await post(betaKey, chat('down-model'))).status, 502);
    const after = samplesOf((await scrape(gw)).text);
    const delta = (labels: Record<string, string>): number =>
      valueOf(after, 'sluice_requests_total', labels) - valueOf(before, 'sluice_requests_total', labels);
    const base = { route: 'chat', status: '200' };
    assert.equal(
      delta({ ...base, model: 'chat-model', provider: 'sim', target: 'sim/gpt-4o-mini', team: 'alpha' }),
      3,
    );
    assert.equal(
      delta({ ...base, model: 'other-model', provider: 'sim2', target: 'sim2/gpt-4o', team: 'beta' }),
      2,
    );
    assert.equal(
      delta({
        route: 'chat',
        model: 'down-model',
        provider: 'broken',
        target: 'broken/gpt-4o-mini',
        team: 'beta',
        status: '502',
      }),
      1,
    );
    // Refused before routing: no model, no target, no team (the key is unknown).
    const unauthorized = await post('sk-not-a-key-at-all', chat('chat-model'));
    assert.equal(unauthorized.status, 401);
    const refused = samplesOf((await scrape(gw)).text);
    assert.ok(
      valueOf(refused, 'sluice_requests_total', {
        route: 'chat',
        model: 'unknown',
        provider: 'none',
        target: 'none',
        team: 'none',
        status: '401',
      }) >= 1,
    );
    const durations = matching(after, 'sluice_request_duration_seconds_count', {
      model: 'other-model',
      target: 'sim2/gpt-4o',
      team: 'beta',
    });
    assert.equal(durations.length, 1);
    assert.ok((durations[0]?.value ?? 0) >= 2);
  });

  test('tokens by type and cost by model, provider and team', async () => {
    const before = samplesOf((await scrape(gw)).text);
    const reply = await post(alphaKey, chat('chat-model'));
    assert.equal(reply.status, 200);
    const usage = (JSON.parse(reply.text) as { usage: { prompt_tokens: number; completion_tokens: number } })
      .usage;
    assert.equal(usage.completion_tokens, 12);
    const after = samplesOf((await scrape(gw)).text);
    const labels = { model: 'chat-model', provider: 'sim', team: 'alpha' };
    const delta = (name: string, extra: Record<string, string> = {}): number =>
      valueOf(after, name, { ...labels, ...extra }) - valueOf(before, name, { ...labels, ...extra });
    assert.equal(delta('sluice_tokens_total', { type: 'input' }), usage.prompt_tokens);
    assert.equal(delta('sluice_tokens_total', { type: 'output' }), 12);
    const expected = (usage.prompt_tokens * price.input_per_mtok + 12 * price.output_per_mtok) / 1e6;
    assert.ok(
      Math.abs(delta('sluice_cost_usd_total') - expected) < 1e-9,
      `cost ${delta('sluice_cost_usd_total')} ≈ ${expected}`,
    );
    // The simulator caches nothing: no cached_input series appears.
    assert.equal(matching(after, 'sluice_tokens_total', { type: 'cached_input' }).length, 0);
  });

  test('TTFT for every answer; TPOT for streams only; output tokens per second', async () => {
    const labels = { model: 'other-model', provider: 'sim2', target: 'sim2/gpt-4o' };
    const ttftLabels = { route: 'chat', ...labels };
    const before = samplesOf((await scrape(gw)).text);
    assert.equal((await post(betaKey, chat('other-model'))).status, 200);
    const afterPlain = samplesOf((await scrape(gw)).text);
    const tpot = 'sluice_time_per_output_token_seconds';
    assert.equal(valueOf(afterPlain, `${tpot}_count`, labels), valueOf(before, `${tpot}_count`, labels));
    const stream = await post(
      betaKey,
      chat('other-model', { stream: true, stream_options: { include_usage: true } }),
    );
    assert.equal(stream.status, 200);
    assert.match(stream.text, /data: \[DONE\]/);
    const after = samplesOf((await scrape(gw)).text);

    const ttft = 'sluice_time_to_first_token_seconds';
    assert.equal(
      valueOf(after, `${ttft}_count`, ttftLabels) - valueOf(before, `${ttft}_count`, ttftLabels),
      2,
    );
    // Arrival to the first token: at least the simulator's 20 + 10 ms, each time.
    const ttftSum = valueOf(after, `${ttft}_sum`, ttftLabels) - valueOf(before, `${ttft}_sum`, ttftLabels);
    assert.ok(ttftSum >= 2 * 0.028, `TTFT sum ${ttftSum}`);
    assert.equal(valueOf(after, `${tpot}_count`, labels) - valueOf(before, `${tpot}_count`, labels), 1);
    // 5 ms per token after the first (the simulator's pace), give or take the timers.
    const perToken = valueOf(after, `${tpot}_sum`, labels) - valueOf(before, `${tpot}_sum`, labels);
    assert.ok(perToken > 0.002 && perToken < 0.05, `TPOT ${perToken}`);
    const buckets = matching(after, `${tpot}_bucket`, labels);
    assert.ok(
      buckets.some((b) => b.labels['le'] === '0.001'),
      'TPOT buckets reach below 10 ms',
    );

    const tps = 'sluice_output_tokens_per_second';
    assert.equal(valueOf(after, `${tps}_count`, labels) - valueOf(before, `${tps}_count`, labels), 2);
    const rate = (valueOf(after, `${tps}_sum`, labels) - valueOf(before, `${tps}_sum`, labels)) / 2;
    // 12 tokens in about 20 + 10 + 55 ms: far below 12 / 0.03 s, far above 12 / 2 s.
    assert.ok(rate > 6 && rate < 400, `tokens/s ${rate}`);
  });

  test('idempotency: a stored answer, a replay and a conflict are counted as cache results', async () => {
    const key = randomUUID();
    const before = samplesOf((await scrape(gw)).text);
    const first = await post(alphaKey, chat('chat-model'), { 'idempotency-key': key });
    assert.equal(first.status, 200);
    const again = await post(alphaKey, chat('chat-model'), { 'idempotency-key': key });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-sluice-idempotent-replay'), 'true');
    assert.equal(again.text, first.text);
    // The replay's Server-Timing is its own, not the stored answer's: no upstream was called.
    const timing = timingOf(again);
    assert.deepEqual(timing.names, ['auth', 'total']);
    assertTimingConsistent(timing);
    const other = await post(alphaKey, chat('chat-model', { max_tokens: 3 }), { 'idempotency-key': key });
    assert.equal(other.status, 422);
    const after = samplesOf((await scrape(gw)).text);
    const delta = (result: string): number =>
      valueOf(after, 'sluice_cache_results_total', { cache: 'idempotency', result }) -
      valueOf(before, 'sluice_cache_results_total', { cache: 'idempotency', result });
    assert.equal(delta('stored'), 1);
    assert.equal(delta('replayed'), 1);
    assert.equal(delta('conflict'), 1);
    // Billed once: the replay adds no tokens.
    const output = { model: 'chat-model', provider: 'sim', team: 'alpha', type: 'output' };
    assert.equal(
      valueOf(after, 'sluice_tokens_total', output) - valueOf(before, 'sluice_tokens_total', output),
      12,
    );
  });

  test("OpenMetrics when asked: a sampled request's trace id is the exemplar of its latency and TTFT buckets", async () => {
    const unsampled = randomBytes(16).toString('hex');
    const sampled = randomBytes(16).toString('hex');
    const span = randomBytes(8).toString('hex');
    const stream = { stream: true, stream_options: { include_usage: true } };
    assert.equal(
      (await post(betaKey, chat('other-model', stream), { traceparent: `00-${unsampled}-${span}-00` }))
        .status,
      200,
    );
    assert.equal(
      (await post(betaKey, chat('other-model', stream), { traceparent: `00-${sampled}-${span}-01` })).status,
      200,
    );

    const { type, text } = await scrape(gw, openMetricsAccept);
    assert.match(type, /^application\/openmetrics-text; version=1\.0\.0/);
    assert.ok(text.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
    // OpenMetrics names a counter's family without _total; its samples keep it.
    assert.match(text, /^# TYPE sluice_requests counter$/m);
    const samples = samplesOf(text);
    assert.ok(matching(samples, 'sluice_requests_total', { team: 'beta' }).length > 0);
    const labels = { route: 'chat', model: 'other-model', provider: 'sim2', target: 'sim2/gpt-4o' };
    for (const name of [
      'sluice_request_duration_seconds_bucket',
      'sluice_time_to_first_token_seconds_bucket',
    ]) {
      const withExemplar = matching(samples, name, labels).filter((s) => s.exemplar !== undefined);
      const ours = withExemplar.filter((s) => s.exemplar?.labels['trace_id'] === sampled);
      assert.equal(ours.length, 1, `${name}: one bucket has the sampled trace as exemplar`);
      const bucket = ours[0] as Sample;
      assert.deepEqual(Object.keys(bucket.exemplar?.labels ?? {}), ['trace_id']);
      const value = bucket.exemplar?.value ?? -1;
      const le = bucket.labels['le'] === '+Inf' ? Infinity : Number(bucket.labels['le']);
      assert.ok(value > 0 && value <= le, `${name}: exemplar value ${value} lies in its bucket (le ${le})`);
      assert.ok(
        !withExemplar.some((s) => s.exemplar?.labels['trace_id'] === unsampled),
        'no exemplar of an unsampled trace',
      );
    }
    assert.ok(!text.includes(unsampled), 'an unsampled trace id appears nowhere');

    // An OpenMetrics scrape leaves the Prometheus format as it was (prom-client renames counters while rendering it).
    const prometheus = await scrape(gw);
    assert.match(prometheus.text, /^# TYPE sluice_requests_total counter$/m);
    assert.match(prometheus.text, /^sluice_requests_total\{/m);
    assert.match(prometheus.text, /^sluice_cache_results_total\{/m);
  });

  test('no label holds a key, a request id, an end-user or a model name a client typed', async () => {
    const typed = `no-such-model-${randomUUID()}`;
    assert.equal((await post(alphaKey, chat(typed))).status, 404);
    const user = `end-user-${randomUUID()}`;
    assert.equal((await post(betaKey, chat('chat-model'), { 'x-sluice-end-user': user })).status, 200);
    assert.ok(requestIds.length > 5);
    for (const accept of [undefined, openMetricsAccept]) {
      const { text } = await scrape(gw, accept);
      const values = new Set(samplesOf(text).flatMap((s) => Object.values(s.labels)));
      for (const secret of [alphaKey, betaKey, 'sk-not-a-key-at-all', typed, user, ...requestIds]) {
        assert.ok(!text.includes(secret), `metrics text holds ${secret}`);
      }
      // Every label value is one of a small, known vocabulary.
      assert.ok(values.size < 200, `${values.size} distinct label values`);
      assert.ok(values.has('unknown'));
    }
  });

  test('Server-Timing on a non-stream answer: auth, admission (budgets), upstream and total', async () => {
    const reply = await post(alphaKey, chat('chat-model'));
    assert.equal(reply.status, 200);
    const timing = timingOf(reply);
    assert.deepEqual(timing.names, ['auth', 'admission', 'upstream', 'total']);
    assertTimingConsistent(timing);
    // The head of a non-stream answer comes after the whole generation: 20 + 10 + 12 × 5 ms.
    assert.ok((timing.dur['upstream'] as number) >= 60, `upstream ${timing.dur['upstream']} ms`);
  });

  test('Server-Timing on a stream: written with its head, before the end of the stream', async () => {
    const started = performance.now();
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${betaKey}` },
      body: JSON.stringify(chat('late-model', { stream: true })),
    });
    const text = await response.text();
    const elapsed = performance.now() - started;
    assert.match(text, /\[DONE\]/);
    const timing = timingOf({ status: response.status, headers: response.headers, text });
    // beta has no budget and no limits: no admission entry; no adaptive concurrency: no queue entry.
    assert.deepEqual(timing.names, ['auth', 'upstream', 'total']);
    assertTimingConsistent(timing);
    const upstreamMs = timing.dur['upstream'] as number;
    const totalMs = timing.dur['total'] as number;
    // upstream ends at the upstream's first byte (20 ms), not at its first token (140 ms)...
    assert.ok(upstreamMs >= 18 && upstreamMs < 100, `upstream (to the first byte) ${upstreamMs} ms`);
    // ...and the gateway's head goes out with the first token, so total is at least that.
    assert.ok(totalMs >= 135, `total ${totalMs} ms`);
    // The 3 tokens after the first take 60 ms more: total stops at the head, not at the end.
    assert.ok(totalMs < elapsed - 40, `total ${totalMs} ms of ${elapsed} ms`);
  });

  test('Server-Timing on errors: what ran before the failure, and total', async () => {
    const unauthorized = await post('sk-not-a-key-at-all', chat('chat-model'));
    assert.equal(unauthorized.status, 401);
    assert.deepEqual(timingOf(unauthorized).names, ['total']);

    const unknownModel = await post(alphaKey, chat('not-configured'));
    assert.equal(unknownModel.status, 404);
    const refused = timingOf(unknownModel);
    assert.deepEqual(refused.names, ['auth', 'total']);
    assertTimingConsistent(refused);

    const upstreamFailed = await post(betaKey, chat('down-model'));
    assert.equal(upstreamFailed.status, 502);
    const failed = timingOf(upstreamFailed);
    assert.deepEqual(failed.names, ['auth', 'upstream', 'total']);
    assertTimingConsistent(failed);
  });
});

describe('Server-Timing with adaptive concurrency', () => {
  let sim: SimulatorHandle;
  let gw: TestGateway;

  before(async () => {
    sim = await startSimulator({ port: 0, latencyMs: 5, outputTokens: 3 });
    gw = await startGateway({
      logging: { level: 'warn' },
      providers: [upstream('sim', sim.url)],
      models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
      admission: { adaptive_concurrency: { enabled: true } },
    });
  });

  after(async () => {
    await gw.close();
    await sim.close();
  });

  test("a target's queue is an entry (0 when a slot was free)", async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await response.text();
    assert.equal(response.status, 200);
    const timing = timingOf({ status: response.status, headers: response.headers, text });
    assert.deepEqual(timing.names, ['auth', 'queue', 'upstream', 'total']);
    assertTimingConsistent(timing);
  });
});
