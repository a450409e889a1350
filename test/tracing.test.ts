/**
 * Traces end to end: a real gateway exporting over OTLP to an in-process receiver that decodes what was
 * really sent (OTLP/JSON and OTLP/protobuf), with the simulator as the upstream, which records the
 * traceparent each attempt sent it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, waitFor, type TestGateway } from './helpers/gateway.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';

const appKey = 'sk-tracing-app-key-0001';

/** Starts a gateway with these OTEL_* variables set; they are read once, at start, and restored after. */
async function gatewayWithEnv(
  env: Record<string, string>,
  config: Record<string, unknown>,
): Promise<TestGateway> {
  const saved = new Map(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await startGateway(config);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function otelEnv(receiver: OtlpReceiver, protocol: 'http/json' | 'http/protobuf'): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_SERVICE_NAME: 'sluice-test',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=secret%20token',
    // Export within milliseconds instead of the default 5 s, so the tests need not wait.
    OTEL_BSP_SCHEDULE_DELAY: '20',
  };
}

function config(sim: SimulatorHandle, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: [
      upstream('sim', sim.url),
      // Nothing listens on port 9 (discard): every attempt there fails at once, unreachable.
      upstream('down', 'http://127.0.0.1:9', { timeouts: { connect_ms: 500 } }),
    ],
    models: [
      { name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] },
      { name: 'failover', targets: [{ provider: 'down', model: 'gpt-4o' }], fallbacks: ['m'] },
    ],
    keys: [{ name: 'app', key: appKey, team: 'alpha', limits: { rpm: 10_000 } }],
    routing: { max_attempts: 3, cooldowns: false },
    ...extra,
  };
}

async function chat(
  gateway: TestGateway,
  model: string,
  headers: Record<string, string> = {},
  stream = false,
): Promise<Response> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${appKey}`, ...headers },
    body: JSON.stringify({
      model,
      stream,
      max_tokens: 12,
      temperature: 0.5,
      messages: [{ role: 'user', content: 'hello' }],
    }),
  });
  await res.text();
  return res;
}

function traceOf(receiver: OtlpReceiver, traceId: string): ReceivedSpan[] {
  return receiver.spans().filter((s) => s.traceId === traceId);
}

async function waitForTrace(receiver: OtlpReceiver, traceId: string, spans: number): Promise<ReceivedSpan[]> {
  await waitFor(
    () => traceOf(receiver, traceId).length >= spans,
    5_000,
    `${spans} spans of trace ${traceId}`,
  );
  return traceOf(receiver, traceId);
}

function accessLine(gateway: TestGateway, requestId: string): Record<string, unknown> {
  const line = gateway.logs.find((l) => l['msg'] === 'request' && l['request_id'] === requestId);
  assert.ok(line, `access line of ${requestId}`);
  return line;
}

const byName = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const span = spans.find((s) => s.name === name);
  assert.ok(span, `span ${name} in ${spans.map((s) => s.name).join(', ')}`);
  return span;
};

const incomingTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
const incomingParent = '00f067aa0ba902b7';

describe('OTLP export, http/json', () => {
  let sim: SimulatorHandle;
  let receiver: OtlpReceiver;
  let gateway: TestGateway;

  before(async () => {
    sim = await startSimulator({ port: 0, recordRequests: true, ttftMs: 5, tokensPerSecond: 2_000 });
    receiver = await startOtlpReceiver();
    gateway = await gatewayWithEnv(otelEnv(receiver, 'http/json'), config(sim));
  });
  after(async () => {
    await gateway.close();
    await receiver.close();
    await sim.close();
  });

  test("a client's traceparent: its trace id is kept, the upstream gets it, one trace of the expected spans", async () => {
    const res = await chat(gateway, 'm', {
      traceparent: `00-${incomingTrace}-${incomingParent}-01`,
      tracestate: 'vendor=abc,other=1',
    });
    assert.equal(res.status, 200);
    const sent = sim.stats.lastRequest?.headers;
    const upstreamParent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(sent?.['traceparent']));
    assert.ok(upstreamParent, `upstream traceparent ${String(sent?.['traceparent'])}`);
    assert.equal(upstreamParent[1], incomingTrace);
    assert.equal(sent?.['tracestate'], 'vendor=abc,other=1');

    const spans = await waitForTrace(receiver, incomingTrace, 4);
    const server = byName(spans, 'POST /v1/chat/completions');
    assert.equal(server.kind, 2);
    assert.equal(server.parentSpanId, incomingParent);
    assert.equal(server.traceState, 'vendor=abc,other=1');
    assert.equal(server.attributes['http.request.method'], 'POST');
    assert.equal(server.attributes['http.route'], '/v1/chat/completions');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['sluice.key.name'], 'app');
    assert.equal(server.attributes['sluice.team'], 'alpha');
    assert.equal(server.resource['service.name'], 'sluice-test');

    const auth = byName(spans, 'auth');
    const admission = byName(spans, 'admission');
    const attempt = byName(spans, 'chat gpt-4o-mini');
    for (const child of [auth, admission, attempt]) {
      assert.equal(child.parentSpanId, server.spanId, `${child.name} is a child of the server span`);
      assert.ok(child.startNs >= server.startNs && child.endNs <= server.endNs, `${child.name} within`);
    }
    assert.equal(admission.attributes['sluice.limits.outcome'], 'admitted');
    // The attempt span is the upstream's parent: the id it got is the span's own.
    assert.equal(attempt.spanId, upstreamParent[2]);
    assert.equal(attempt.kind, 3);
    assert.equal(attempt.attributes['gen_ai.operation.name'], 'chat');
    assert.equal(attempt.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(attempt.attributes['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(attempt.attributes['gen_ai.request.max_tokens'], 12);
    assert.equal(attempt.attributes['gen_ai.request.temperature'], 0.5);
    assert.equal(attempt.attributes['gen_ai.usage.output_tokens'], 12);
    assert.equal(typeof attempt.attributes['gen_ai.usage.input_tokens'], 'number');
    assert.equal(attempt.attributes['server.address'], '127.0.0.1');
    assert.equal(attempt.attributes['server.port'], Number(new URL(sim.url).port));
    assert.equal(attempt.status.code, 0);
    assert.deepEqual(
      attempt.events.map((e) => e.name),
      ['sluice.first_token'],
    );
    // Nothing else in this trace: one request, one trace, four spans.
    assert.equal(spans.length, 4);

    // The access line names the same trace and server span.
    const line = accessLine(gateway, res.headers.get('x-sluice-request-id') as string);
    assert.equal(line['trace_id'], incomingTrace);
    assert.equal(line['span_id'], server.spanId);
    assert.equal(line['trace_sampled'], true);
    // The collector got the configured headers.
    assert.equal(receiver.requests.at(-1)?.headers['x-collector-token'], 'secret token');
  });

  test('a stream: the first token is an event on the attempt, between its start and end', async () => {
    const res = await chat(gateway, 'm', {}, true);
    assert.equal(res.status, 200);
    const line = accessLine(gateway, res.headers.get('x-sluice-request-id') as string);
    const traceId = line['trace_id'] as string;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const spans = await waitForTrace(receiver, traceId, 4);
    const server = byName(spans, 'POST /v1/chat/completions');
    assert.equal(server.parentSpanId, '', 'a new trace starts at the gateway');
    const attempt = byName(spans, 'chat gpt-4o-mini');
    const first = attempt.events.find((e) => e.name === 'sluice.first_token');
    assert.ok(first);
    assert.ok(first.timeNs >= attempt.startNs && first.timeNs <= attempt.endNs);
    assert.equal(attempt.attributes['sluice.stream'], true);
    // The attempt lasts until the stream is written (the request's end), not just until it opened.
    assert.equal(attempt.endNs, server.endNs);
    assert.equal(typeof first.attributes['sluice.ttft_ms'], 'number');
  });

  test('a failed attempt is an error span; the fallback that answered is not', async () => {
    const res = await chat(gateway, 'failover');
    assert.equal(res.status, 200);
    const attempts = Number(res.headers.get('x-sluice-attempts'));
    assert.ok(attempts >= 2);
    const traceId = accessLine(gateway, res.headers.get('x-sluice-request-id') as string)[
      'trace_id'
    ] as string;
    const spans = await waitForTrace(receiver, traceId, 3 + attempts);
    const failed = spans.filter((s) => s.name === 'chat gpt-4o');
    assert.equal(failed.length, attempts - 1);
    for (const span of failed) {
      assert.equal(span.status.code, 2);
      assert.equal(span.attributes['error.type'], 'upstream_unreachable');
      assert.ok(span.status.message.length > 0);
    }
    const answered = byName(spans, 'chat gpt-4o-mini');
    assert.equal(answered.status.code, 0);
    assert.equal(answered.attributes['sluice.attempt'], attempts);
    assert.ok(
      failed.every((span) => answered.startNs >= span.endNs),
      'the fallback starts after the failures',
    );
    const server = byName(spans, 'POST /v1/chat/completions');
    assert.ok(server.events.some((e) => e.name === 'sluice.route.fallback'));
    assert.equal(server.status.code, 0);
  });

  test('an unsampled parent: nothing is recorded, and the upstream is told so with the same trace id', async () => {
    const traceId = 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb';
    const res = await chat(gateway, 'm', { traceparent: `00-${traceId}-${incomingParent}-00` });
    assert.equal(res.status, 200);
    const sent = String(sim.stats.lastRequest?.headers['traceparent']);
    assert.match(sent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    // A sampled request after it is exported, so the unsampled one would have been by now.
    const later = await chat(gateway, 'm');
    const laterTrace = accessLine(gateway, later.headers.get('x-sluice-request-id') as string)['trace_id'];
    await waitForTrace(receiver, laterTrace as string, 4);
    assert.equal(traceOf(receiver, traceId).length, 0);
    assert.equal(
      accessLine(gateway, res.headers.get('x-sluice-request-id') as string)['trace_sampled'],
      false,
    );
  });

  test('an invalid traceparent starts a new trace (and drops the tracestate)', async () => {
    for (const bad of [
      `00-${'0'.repeat(32)}-${incomingParent}-01`,
      `00-${incomingTrace}-${'0'.repeat(16)}-01`,
      `00-${incomingTrace.toUpperCase()}-${incomingParent}-01`,
      `ff-${incomingTrace}-${incomingParent}-01`,
      `00-${incomingTrace}-${incomingParent}-01-extra`,
      'garbage',
    ]) {
      const res = await chat(gateway, 'm', { traceparent: bad, tracestate: 'vendor=x' });
      const line = accessLine(gateway, res.headers.get('x-sluice-request-id') as string);
      assert.notEqual(line['trace_id'], incomingTrace, bad);
      assert.match(line['trace_id'] as string, /^[0-9a-f]{32}$/);
      assert.equal(sim.stats.lastRequest?.headers['tracestate'], undefined, bad);
      const sent = String(sim.stats.lastRequest?.headers['traceparent']);
      assert.ok(sent.startsWith(`00-${line['trace_id'] as string}-`), bad);
    }
  });

  test('a refused key: the trace has the server and auth spans, auth in error', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-wrong' },
      body: '{}',
    });
    assert.equal(res.status, 401);
    const traceId = accessLine(gateway, res.headers.get('x-sluice-request-id') as string)[
      'trace_id'
    ] as string;
    const spans = await waitForTrace(receiver, traceId, 2);
    assert.equal(byName(spans, 'auth').status.code, 2);
    const server = byName(spans, 'POST /v1/chat/completions');
    assert.equal(server.attributes['http.response.status_code'], 401);
    assert.equal(server.attributes['sluice.error.kind'], 'unauthorized');
    assert.equal(server.status.code, 0, 'a 4xx is not an error of the server span');
  });
});

describe('OTLP export, http/protobuf', () => {
  test('the protobuf body decodes to the same span tree', async () => {
    const sim = await startSimulator({ port: 0, recordRequests: true });
    const receiver = await startOtlpReceiver();
    const gateway = await gatewayWithEnv(otelEnv(receiver, 'http/protobuf'), config(sim));
    try {
      const res = await chat(gateway, 'm', { traceparent: `00-${incomingTrace}-${incomingParent}-01` });
      assert.equal(res.status, 200);
      const spans = await waitForTrace(receiver, incomingTrace, 4);
      assert.ok(receiver.requests.every((r) => r.contentType.startsWith('application/x-protobuf')));
      const server = byName(spans, 'POST /v1/chat/completions');
      assert.equal(server.parentSpanId, incomingParent);
      assert.equal(server.kind, 2);
      assert.equal(server.attributes['http.response.status_code'], 200);
      assert.equal(server.resource['service.name'], 'sluice-test');
      assert.equal(server.scope, 'sluice');
      const attempt = byName(spans, 'chat gpt-4o-mini');
      assert.equal(attempt.parentSpanId, server.spanId);
      assert.equal(attempt.attributes['gen_ai.request.model'], 'gpt-4o-mini');
      assert.equal(attempt.attributes['gen_ai.usage.output_tokens'], 12);
      assert.ok(attempt.events.some((e) => e.name === 'sluice.first_token'));
      const sent = String(sim.stats.lastRequest?.headers['traceparent']);
      assert.equal(sent, `00-${incomingTrace}-${attempt.spanId}-01`);
      // Times are wall-clock nanoseconds: close to now.
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      assert.ok(nowNs - server.startNs < 60_000_000_000n && server.endNs >= server.startNs);
    } finally {
      await gateway.close();
      await receiver.close();
      await sim.close();
    }
  });
});

describe('sampling', () => {
  test('sample_ratio 0 exports nothing for new traces, and still propagates ids', async () => {
    const sim = await startSimulator({ port: 0, recordRequests: true });
    const receiver = await startOtlpReceiver();
    const gateway = await gatewayWithEnv(
      otelEnv(receiver, 'http/json'),
      config(sim, { observability: { tracing: { sample_ratio: 0 } } }),
    );
    try {
      for (let i = 0; i < 20; i++) assert.equal((await chat(gateway, 'm')).status, 200);
      assert.match(
        String(sim.stats.lastRequest?.headers['traceparent']),
        /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/,
      );
      // Closing flushes the batch processor: anything recorded would be sent now.
      await gateway.close();
      assert.equal(receiver.spans().length, 0);
    } finally {
      await gateway.close();
      await receiver.close();
      await sim.close();
    }
  });

  test('OTEL_TRACES_SAMPLER_ARG overrides sample_ratio (the environment wins)', async () => {
    const sim = await startSimulator({ port: 0 });
    const receiver = await startOtlpReceiver();
    const gateway = await gatewayWithEnv(
      { ...otelEnv(receiver, 'http/json'), OTEL_TRACES_SAMPLER_ARG: '1' },
      config(sim, { observability: { tracing: { sample_ratio: 0 } } }),
    );
    try {
      const res = await chat(gateway, 'm');
      const traceId = accessLine(gateway, res.headers.get('x-sluice-request-id') as string)['trace_id'];
      await waitForTrace(receiver, traceId as string, 4);
    } finally {
      await gateway.close();
      await receiver.close();
      await sim.close();
    }
  });
});

describe('propagation to every provider kind', () => {
  const providerKey = 'sk-provider-propagation-01';
  const kinds = [
    {
      kind: 'azure',
      format: 'openai',
      model: 'my-gpt4o',
      config: (url: string) => ({ base_url: url, api_version: '2024-10-21' }),
    },
    {
      kind: 'anthropic',
      format: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      config: (url: string) => ({ base_url: url }),
    },
    {
      kind: 'gemini',
      format: 'gemini',
      model: 'gemini-2.5-flash',
      config: (url: string) => ({ base_url: url }),
    },
    {
      kind: 'cohere',
      format: 'cohere',
      model: 'command-a-03-2025',
      config: (url: string) => ({ base_url: url }),
    },
    // The simulator checks the SigV4 signature: the unsigned traceparent must leave it valid.
    {
      kind: 'bedrock',
      format: 'bedrock',
      model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
      config: (url: string) => ({
        base_url: url,
        region: 'us-east-1',
        aws_access_key_id: 'AKIDTRACE',
        aws_secret_access_key: providerKey,
      }),
    },
  ] as const;

  test("each sends the client's trace id, its own attempt span id and the tracestate (no export configured)", async () => {
    const sims = new Map<string, SimulatorHandle>();
    for (const k of kinds)
      sims.set(
        k.kind,
        await startSimulator({ format: k.format, port: 0, apiKey: providerKey, recordRequests: true }),
      );
    const gateway = await startGateway({
      providers: kinds.map((k) => ({
        name: k.kind,
        kind: k.kind,
        api_key: providerKey,
        ...k.config((sims.get(k.kind) as SimulatorHandle).url),
      })),
      models: kinds.map((k) => ({ name: k.kind, targets: [{ provider: k.kind, model: k.model }] })),
    });
    try {
      for (const k of kinds) {
        const res = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            traceparent: `00-${incomingTrace}-${incomingParent}-01`,
            tracestate: 'vendor=abc',
          },
          body: JSON.stringify({ model: k.kind, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
        });
        assert.equal(res.status, 200, `${k.kind}: ${await res.text()}`);
        const headers = sims.get(k.kind)?.stats.lastRequest?.headers;
        assert.match(
          String(headers?.['traceparent']),
          new RegExp(`^00-${incomingTrace}-[0-9a-f]{16}-01$`),
          k.kind,
        );
        assert.ok(
          !String(headers?.['traceparent']).includes(incomingParent),
          `${k.kind}: the attempt is the parent`,
        );
        assert.equal(headers?.['tracestate'], 'vendor=abc', k.kind);
      }
    } finally {
      await gateway.close();
      for (const sim of sims.values()) await sim.close();
    }
  });
});

describe('without an OTLP endpoint', () => {
  test('the gateway never loads the OpenTelemetry SDK, yet propagates trace context', () => {
    // A child process of its own, so nothing this test file loaded counts.
    const script = fileURLToPath(new URL('./helpers/no-otel-probe.js', import.meta.url));
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];
    const result = spawnSync(process.execPath, [script], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as {
      loaded: string[];
      traceparent: string;
    };
    assert.deepEqual(
      report.loaded.filter((m) => /@opentelemetry\/(sdk-trace|exporter|otlp|resources)/.test(m)),
      [],
    );
    assert.match(report.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
