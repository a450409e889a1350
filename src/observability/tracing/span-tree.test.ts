import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { GatewayError } from '../../errors/gateway-error.js';
import { RequestContext } from '../../pipeline/context.js';
import type { Target } from '../../routing/catalog.js';
import type { AttemptEvent } from '../events.js';
import { buildSpans, RequestRecord, type SpanRecord } from './span-tree.js';

function context(): RequestContext {
  const req = {
    url: '/v1/chat/completions?x=1',
    method: 'POST',
    httpVersion: '1.1',
    headers: { 'user-agent': 'u'.repeat(1000) },
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage;
  const ctx = new RequestContext({}, 'req-1', 'chat', undefined, req, {} as ServerResponse, 1_000);
  ctx.traceId = 'a'.repeat(32);
  ctx.spanId = 'b'.repeat(16);
  ctx.parentSpanId = 'c'.repeat(16);
  ctx.traceSampled = true;
  ctx.authenticatedAt = 1_001;
  ctx.status = 200;
  ctx.endedAt = 1_100;
  return ctx;
}

const attempt = (ctx: RequestContext, n: number, provider: string, spanId: string): AttemptEvent => ({
  ctx,
  provider,
  model: 'gpt-4o-mini',
  attempt: n,
  spanId,
});

let next = 0;
const ids = (): string => (++next).toString(16).padStart(16, '0');
const byName = (spans: SpanRecord[], name: string): SpanRecord[] => spans.filter((s) => s.name === name);

test('the server span joins the remote parent; children hang off it within its times', () => {
  const ctx = context();
  const spans = buildSpans(ctx, new RequestRecord(), new Map(), ids);
  const [server, auth] = spans as [SpanRecord, SpanRecord];
  assert.equal(server.name, 'POST /v1/chat/completions', 'no query string in the name');
  assert.equal(server.kind, 'server');
  assert.equal(server.parentSpanId, 'c'.repeat(16));
  assert.equal(server.parentRemote, true);
  assert.equal(server.attributes['http.route'], '/v1/chat/completions');
  assert.equal(
    (server.attributes['user_agent.original'] as string).length,
    256,
    'a client-chosen value is cut',
  );
  assert.equal(auth.name, 'auth');
  assert.equal(auth.parentSpanId, server.spanId);
  assert.deepEqual([auth.startMs, auth.endMs], [1_000, 1_001]);
});

test('attempts: the failed one is an error, the answering one lasts to the end and has usage and TTFT', () => {
  const ctx = context();
  const record = new RequestRecord();
  const failed = attempt(ctx, 1, 'down', '1'.repeat(16));
  failed.error = new GatewayError('upstream_error', 'provider down answered 500', {
    upstream: { status: 500, code: undefined, headers: {} },
  });
  const ok = attempt(ctx, 2, 'sim', '2'.repeat(16));
  record.attempts.push(
    { event: failed, startedAt: 1_010, endedAt: 1_020 },
    { event: ok, startedAt: 1_021, endedAt: 1_030 },
  );
  ctx.target = {
    provider: { name: 'sim' },
    model: 'gpt-4o-mini',
    id: 'sim/gpt-4o-mini',
  } as unknown as Target;
  ctx.usage = { inputTokens: 5, outputTokens: 7, cachedInputTokens: 0 } as never;
  ctx.firstTokenAt = 1_040;
  const upstreams = new Map([['sim', { genAiProvider: 'openai', address: 'api.example', port: 443 }]]);
  const spans = buildSpans(ctx, record, upstreams, ids);
  const [first, second] = byName(spans, 'chat gpt-4o-mini') as [SpanRecord, SpanRecord];
  assert.equal(first.spanId, '1'.repeat(16));
  assert.equal(first.error, 'provider down answered 500');
  assert.equal(first.attributes['error.type'], 'upstream_error');
  assert.equal(first.attributes['http.response.status_code'], 500);
  assert.equal(first.endMs, 1_020);
  assert.equal(second.error, undefined);
  assert.equal(second.endMs, 1_100, 'the answering attempt lasts until the answer is written');
  assert.equal(second.attributes['gen_ai.usage.input_tokens'], 5);
  assert.equal(second.attributes['gen_ai.usage.output_tokens'], 7);
  assert.equal(second.attributes['gen_ai.provider.name'], 'openai');
  assert.equal(second.attributes['server.address'], 'api.example');
  assert.deepEqual(
    second.events.map((e) => [e.name, e.timeMs]),
    [['sluice.first_token', 1_040]],
  );
  assert.equal(first.events.length, 0);
});

test('a stream that fails after it opened marks its attempt and a 5xx the server span', () => {
  const ctx = context();
  const record = new RequestRecord();
  record.attempts.push({ event: attempt(ctx, 1, 'sim', '3'.repeat(16)), startedAt: 1_010, endedAt: 1_020 });
  ctx.target = { provider: { name: 'sim' }, model: 'gpt-4o-mini' } as unknown as Target;
  ctx.status = 502;
  ctx.error = new GatewayError('upstream_error', 'stream cut');
  const spans = buildSpans(ctx, record, new Map(), ids);
  assert.equal(byName(spans, 'chat gpt-4o-mini')[0]?.error, 'stream cut');
  assert.equal(spans[0]?.error, 'stream cut');
  assert.equal(spans[0]?.attributes['error.type'], 'upstream_error');
});

test('admission and queue spans from their decisions', () => {
  const ctx = context();
  ctx.admissionMs = 3;
  ctx.queueMs = 20;
  const record = new RequestRecord();
  record.admissions.push(
    { event: { ctx, stage: 'limits', outcome: 'admitted', reason: 'within_limits' }, at: 1_004 },
    { event: { ctx, stage: 'budget', outcome: 'admitted', reason: 'within_budget' }, at: 1_005 },
    { event: { ctx, stage: 'queue', outcome: 'admitted', reason: 'immediate', waitedMs: 0 }, at: 1_006 },
    { event: { ctx, stage: 'queue', outcome: 'admitted', reason: 'waited', waitedMs: 20 }, at: 1_030 },
  );
  const spans = buildSpans(ctx, record, new Map(), ids);
  const [admission] = byName(spans, 'admission') as [SpanRecord];
  assert.deepEqual([admission.startMs, admission.endMs], [1_002, 1_005]);
  assert.equal(admission.attributes['sluice.limits.reason'], 'within_limits');
  assert.equal(admission.attributes['sluice.budget.outcome'], 'admitted');
  const queues = byName(spans, 'queue');
  assert.equal(queues.length, 1, 'an immediate admission is no span');
  assert.deepEqual([queues[0]?.startMs, queues[0]?.endMs], [1_010, 1_030]);
});

test('a refused key: an auth span in error, ended with the request', () => {
  const ctx = context();
  ctx.authenticatedAt = undefined;
  ctx.status = 401;
  ctx.error = new GatewayError('unauthorized', 'invalid API key');
  const spans = buildSpans(ctx, new RequestRecord(), new Map(), ids);
  const [auth] = byName(spans, 'auth') as [SpanRecord];
  assert.equal(auth.error, 'invalid API key');
  assert.equal(auth.endMs, 1_100);
  assert.equal(spans[0]?.error, undefined, 'a 4xx is not an error of the server span');
  assert.equal(spans[0]?.attributes['sluice.error.kind'], 'unauthorized');
});
