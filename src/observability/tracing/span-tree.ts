/**
 * A sampled request's spans, built once at request:end from the context and what the recorder saw on the
 * way (attempts, admission decisions, routing decisions), with explicit start and end times. Plain data:
 * the OTLP module turns it into the SDK's ReadableSpans; tests read it as is.
 *
 *   SERVER  POST /v1/chat/completions        (parent: the client's span from traceparent, if any)
 *   ├─ INTERNAL auth                          key resolution
 *   ├─ INTERNAL admission                     limits and budgets (admit + charge)
 *   ├─ INTERNAL queue                         waiting for a target's concurrency slot (one per wait)
 *   └─ CLIENT   chat gpt-4o-mini              one per upstream attempt (GenAI conventions), its id the one
 *                                             sent upstream in traceparent; event `sluice.first_token`
 *
 * Attributes follow the HTTP and GenAI semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/,
 * https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/); what they have no name for is under
 * `sluice.*`. Never a prompt, an answer or a key: names, counts and outcomes only.
 */
import { isGatewayError } from '../../errors/gateway-error.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { AdmissionEvent, AttemptEvent, RouteDecisionEvent } from '../events.js';
import type { UpstreamIdentity } from './gen-ai.js';

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export interface SpanEventRecord {
  name: string;
  /** performance.now() milliseconds, like every time here. */
  timeMs: number;
  attributes: Attributes | undefined;
}

export interface SpanRecord {
  name: string;
  kind: 'server' | 'client' | 'internal';
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  /** The parent is the client's span, in another process. */
  parentRemote: boolean;
  traceState: string | undefined;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  events: SpanEventRecord[];
  /** Set when the span's status is Error: its description. */
  error: string | undefined;
}

export interface AttemptRecord {
  event: AttemptEvent;
  startedAt: number;
  endedAt: number | undefined;
}

/** What the recorder keeps for one sampled request until its end. */
export class RequestRecord {
  readonly attempts: AttemptRecord[] = [];
  readonly admissions: { event: AdmissionEvent; at: number }[] = [];
  readonly routes: { event: RouteDecisionEvent; at: number }[] = [];
}

/** Attribute values a client chose (a user agent) are cut: a span is no place for a kilobyte of header. */
const maxValueLength = 256;
const cut = (value: string): string =>
  value.length > maxValueLength ? value.slice(0, maxValueLength) : value;

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function errorKind(error: unknown): string {
  if (isGatewayError(error)) return error.kind;
  return error instanceof Error ? error.name : '_OTHER';
}

function errorMessage(error: unknown): string {
  return cut(error instanceof Error ? error.message : String(error));
}

/**
 * The attempt whose answer the client got: the last one that opened without error on the target that
 * answered (attempt-upstream sets ctx.target to the winner, hedges included).
 */
function answeringAttempt(
  ctx: RequestContext,
  attempts: readonly AttemptRecord[],
): AttemptRecord | undefined {
  const target = ctx.target;
  if (target === undefined) return undefined;
  for (let i = attempts.length - 1; i >= 0; i--) {
    const a = attempts[i] as AttemptRecord;
    if (a.event.error === undefined && a.endedAt !== undefined && a.event.provider === target.provider.name)
      if (a.event.model === target.model) return a;
  }
  return undefined;
}

/** The model the upstream says answered, when the answer was translated (raw bytes are not parsed again). */
function responseModel(ctx: RequestContext): string | undefined {
  const outcome = ctx.outcome;
  if (outcome?.kind === 'response') return outcome.response.model;
  return undefined;
}

export function buildSpans(
  ctx: RequestContext,
  record: RequestRecord,
  upstreams: ReadonlyMap<string, UpstreamIdentity>,
  /** The span id generator (random-ids.ts newSpanId); a parameter so tests get stable ids. */
  spanId: () => string,
): SpanRecord[] {
  const endedAt = ctx.endedAt ?? performance.now();
  const traceId = ctx.traceId;
  const traceState = ctx.traceState;
  const serverId = ctx.spanId;
  const child = (
    name: string,
    kind: SpanRecord['kind'],
    id: string,
    startMs: number,
    endMs: number,
    attributes: Attributes,
  ): SpanRecord => ({
    name,
    kind,
    traceId,
    spanId: id,
    parentSpanId: serverId,
    parentRemote: false,
    traceState,
    startMs,
    endMs: Math.max(startMs, endMs),
    attributes,
    events: [],
    error: undefined,
  });

  const req = ctx.req;
  const path = pathOf(req.url);
  const method = req.method ?? 'POST';
  const server: SpanRecord = {
    name: `${method} ${path}`,
    kind: 'server',
    traceId,
    spanId: serverId,
    parentSpanId: ctx.parentSpanId,
    parentRemote: ctx.parentSpanId !== '',
    traceState,
    startMs: ctx.startedAt,
    endMs: endedAt,
    attributes: {
      'http.request.method': method,
      // Only the gateway's own fixed paths reach the pipeline, so the path is the route template.
      'http.route': path,
      'url.path': path,
      'url.scheme': 'http',
      'network.protocol.version': req.httpVersion,
      'http.response.status_code': ctx.status,
      'sluice.request_id': ctx.id,
      'sluice.route': ctx.route,
      'sluice.attempts': ctx.attempts,
    },
    events: [],
    error: undefined,
  };
  const attrs = server.attributes;
  const userAgent = req.headers['user-agent'];
  if (userAgent !== undefined) attrs['user_agent.original'] = cut(userAgent);
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) attrs['client.address'] = peer;
  const key = ctx.key;
  if (key !== undefined) {
    attrs['sluice.key.name'] = key.name;
    if (key.team !== undefined) attrs['sluice.team'] = key.team;
  }
  if (ctx.requestedModel !== undefined) attrs['sluice.requested_model'] = cut(ctx.requestedModel);
  if (ctx.model !== undefined) attrs['sluice.model'] = ctx.model.name;
  if (ctx.chat !== undefined) attrs['sluice.stream'] = ctx.chat.stream;
  if (ctx.costUsd !== undefined) attrs['sluice.cost_usd'] = ctx.costUsd;
  if (ctx.firstTokenAt !== undefined) attrs['sluice.ttft_ms'] = ctx.firstTokenAt - ctx.startedAt;
  const error = ctx.error;
  if (error !== undefined) {
    attrs['sluice.error.kind'] = error.kind;
    // HTTP server spans: a 5xx is an error of the span; a 4xx is the client's, recorded but not an error.
    if (ctx.status >= 500) {
      attrs['error.type'] = error.kind;
      server.error = cut(error.message);
    }
  }
  for (const { event, at } of record.routes) {
    server.events.push({
      name: `sluice.route.${event.decision}`,
      timeMs: at,
      attributes: { 'sluice.provider': event.provider, 'gen_ai.request.model': event.model },
    });
  }
  const spans: SpanRecord[] = [server];

  // auth: from arrival to the key's resolution; a refused key ends it with the request.
  if (ctx.authenticatedAt !== undefined || error?.kind === 'unauthorized') {
    const auth = child('auth', 'internal', spanId(), ctx.startedAt, ctx.authenticatedAt ?? endedAt, {});
    if (key !== undefined) auth.attributes['sluice.key.name'] = key.name;
    if (ctx.authenticatedAt === undefined && error !== undefined) auth.error = cut(error.message);
    spans.push(auth);
  }

  // admission: admit and charge run back to back and add their time to admissionMs; the span ends at the
  // last of their decisions and is as long as they took.
  let admissionEnd: number | undefined;
  const decided: Attributes = {};
  for (const { event, at } of record.admissions) {
    if (event.stage === 'queue') continue;
    admissionEnd = at;
    decided[`sluice.${event.stage}.outcome`] = event.outcome;
    decided[`sluice.${event.stage}.reason`] = event.reason;
  }
  if (admissionEnd !== undefined) {
    const start = Math.max(ctx.startedAt, admissionEnd - ctx.admissionMs);
    spans.push(child('admission', 'internal', spanId(), start, admissionEnd, decided));
  }

  // queue: one span per wait for a target's slot. An admitted wait knows its length; a shed or abandoned
  // one is drawn from the last thing before it.
  for (const { event, at } of record.admissions) {
    if (event.stage !== 'queue') continue;
    const waited = event.waitedMs ?? 0;
    if (event.outcome === 'admitted' && waited <= 0) continue;
    let start = at - waited;
    if (event.outcome !== 'admitted') {
      start = Math.max(ctx.authenticatedAt ?? ctx.startedAt, admissionEnd ?? ctx.startedAt);
      for (const a of record.attempts)
        if (a.endedAt !== undefined && a.endedAt <= at) start = Math.max(start, a.endedAt);
    }
    const attributes: Attributes = {
      'sluice.queue.outcome': event.outcome,
      'sluice.queue.reason': event.reason,
    };
    if (event.waitedMs !== undefined) attributes['sluice.queue.waited_ms'] = event.waitedMs;
    spans.push(child('queue', 'internal', spanId(), start, at, attributes));
  }

  // One CLIENT span per attempt. The answering one lasts until the answer is written (a stream's attempt
  // is "opened" at its first chunk, long before it ends); the others end where they failed or lost.
  const operation = ctx.embeddings !== undefined ? 'embeddings' : 'chat';
  const body = ctx.chat?.body;
  const maxTokens = body === undefined ? undefined : (body['max_completion_tokens'] ?? body['max_tokens']);
  const temperature = body?.['temperature'];
  const topP = body?.['top_p'];
  const answering = answeringAttempt(ctx, record.attempts);
  for (const a of record.attempts) {
    const event = a.event;
    const upstream = upstreams.get(event.provider);
    const attributes: Attributes = {
      'gen_ai.operation.name': operation,
      'gen_ai.request.model': event.model,
      'sluice.provider': event.provider,
      'sluice.attempt': event.attempt,
    };
    if (upstream !== undefined) {
      attributes['gen_ai.provider.name'] = upstream.genAiProvider;
      attributes['gen_ai.system'] = upstream.genAiProvider;
      if (upstream.address !== undefined) attributes['server.address'] = upstream.address;
      if (upstream.port !== undefined) attributes['server.port'] = upstream.port;
    }
    if (typeof maxTokens === 'number') attributes['gen_ai.request.max_tokens'] = maxTokens;
    if (typeof temperature === 'number') attributes['gen_ai.request.temperature'] = temperature;
    if (typeof topP === 'number') attributes['gen_ai.request.top_p'] = topP;
    if (ctx.chat !== undefined) attributes['sluice.stream'] = ctx.chat.stream;
    const won = a === answering;
    const span = child(
      `${operation} ${event.model}`,
      'client',
      event.spanId,
      a.startedAt,
      won ? endedAt : (a.endedAt ?? endedAt),
      attributes,
    );
    if (a.endedAt === undefined) attributes['sluice.attempt.unfinished'] = true;
    if (event.error !== undefined) {
      attributes['error.type'] = errorKind(event.error);
      const status = isGatewayError(event.error) ? event.error.upstream?.status : undefined;
      if (status !== undefined) attributes['http.response.status_code'] = status;
      span.error = errorMessage(event.error);
    }
    if (won) {
      const usage = ctx.usage;
      if (usage !== undefined) {
        attributes['gen_ai.usage.input_tokens'] = usage.inputTokens;
        attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
      }
      const model = responseModel(ctx);
      if (model !== undefined) attributes['gen_ai.response.model'] = cut(model);
      if (ctx.firstTokenAt !== undefined) {
        span.events.push({
          name: 'sluice.first_token',
          timeMs: ctx.firstTokenAt,
          attributes: { 'sluice.ttft_ms': ctx.firstTokenAt - ctx.startedAt },
        });
      }
      // The answer failed after it opened (a stream cut, an idle timeout): the attempt failed with it.
      if (error !== undefined) {
        attributes['error.type'] = error.kind;
        span.error = cut(error.message);
      }
    }
    spans.push(span);
  }
  return spans;
}
