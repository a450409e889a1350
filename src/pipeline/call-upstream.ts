/**
 * One upstream attempt on one target: builds the UpstreamCall from the context and the attempt's own
 * cancellation and timeouts, and publishes the attempt's events. The outcome is "opened" (status known, a
 * stream's first chunk in hand) but not yet written, so the routing stage around it (attempt-upstream.ts)
 * can still retry, fail over or race a hedge.
 */
import type { Timeouts } from '../config/schema.js';
import type { Cancellation } from '../http/cancellation.js';
import { attemptEnd, attemptStart, firstToken, publish, type AttemptEvent } from '../observability/events.js';
import { newSpanId } from '../observability/tracing/random-ids.js';
import { formatTraceparent } from '../observability/tracing/trace-context.js';
import type { ChatOutcome, EmbeddingsOutcome, UpstreamCall } from '../providers/provider.js';
import type { Target } from '../routing/catalog.js';
import type { RequestContext } from './context.js';

export interface AttemptHooks {
  /** The attempt's first token, in ms since it started. */
  onFirstToken(ms: number): void;
  /** The upstream's status and headers, as soon as they arrive (rate-limit headers on successes). */
  onResponseHeaders?:
    ((status: number, headers: Record<string, string | string[] | undefined>) => void) | undefined;
}

export async function callTarget(
  ctx: RequestContext,
  target: Target,
  cancel: Cancellation,
  timeouts: Timeouts,
  hooks: AttemptHooks,
): Promise<ChatOutcome | EmbeddingsOutcome> {
  ctx.attempts += 1;
  // Each attempt is a span of its own (the upstream's parent), traced or not: its id is what the upstream
  // logs against, and the tracing subscriber, for sampled requests, records the span under this id.
  const spanId = newSpanId();
  const event: AttemptEvent = {
    ctx,
    provider: target.provider.name,
    model: target.model,
    attempt: ctx.attempts,
    spanId,
  };
  publish(attemptStart, event);
  const startedAt = performance.now();
  ctx.upstreamStartedAt ??= startedAt;
  const onFirstToken = (): void => {
    const now = performance.now();
    hooks.onFirstToken(now - startedAt);
    // A hedge that lost never reaches the client: its first token is not the request's.
    if (ctx.firstTokenAt !== undefined || cancel.aborted) return;
    ctx.firstTokenAt = now;
    publish(firstToken, ctx);
  };
  // Server-Timing `upstream` ends at the answer's first byte: its head (in-process adapters have none, so
  // there it is the outcome opening).
  let headAt: number | undefined;
  const onResponseHeaders: AttemptHooks['onResponseHeaders'] = (status, headers) => {
    headAt = performance.now();
    hooks.onResponseHeaders?.(status, headers);
  };
  const chat = ctx.chat;
  const body = chat !== undefined ? chat.body : ctx.embeddings!.body;
  // One object literal of a fixed shape (no spreads): this runs for every attempt.
  const call: UpstreamCall<typeof body> = {
    body,
    inboundBody: chat !== undefined ? chat.inboundBody : body,
    model: target.model,
    stream: chat !== undefined && chat.stream,
    cancel,
    timeouts,
    requestId: ctx.id,
    traceparent: formatTraceparent(ctx.traceId, spanId, ctx.traceSampled),
    tracestate: ctx.traceState,
    inboundFormat: ctx.format?.name ?? 'openai',
    inboundHeaders: ctx.req.headers,
    onFirstToken,
    onResponseHeaders,
  };
  try {
    const outcome =
      chat !== undefined
        ? await target.provider.chat(call as UpstreamCall<typeof chat.body>)
        : await target.provider.embeddings(call as UpstreamCall<NonNullable<typeof ctx.embeddings>['body']>);
    if (!cancel.aborted) ctx.upstreamFirstByteAt = headAt ?? performance.now();
    publish(attemptEnd, event);
    return outcome;
  } catch (error) {
    event.error = error;
    if (headAt !== undefined && !cancel.aborted) ctx.upstreamFirstByteAt = headAt;
    publish(attemptEnd, event);
    throw error;
  }
}
