/**
 * The tracing subscriber: decides each request's sampling on request:start and, for sampled requests
 * only, notes what happens on the way (attempts with their times, admission and routing decisions), then
 * hands the finished span tree to the sink on request:end.
 *
 * An unsampled request costs the sampling decision and one boolean test per event; nothing is kept for it.
 * A sampled one costs a small record until its end. Spans are built after the answer is written, off the
 * request's path, and the sink (the SDK's batch processor) exports them later in batches.
 */
import type { RequestContext } from '../../pipeline/context.js';
import {
  admissionDecision,
  attemptEnd,
  attemptStart,
  requestEnd,
  requestStart,
  routeDecision,
  subscribe,
  type AdmissionEvent,
  type AttemptEvent,
  type RouteDecisionEvent,
} from '../events.js';
import type { UpstreamIdentity } from './gen-ai.js';
import { newSpanId } from './random-ids.js';
import type { Sampler } from './sampler.js';
import { buildSpans, RequestRecord, type SpanRecord } from './span-tree.js';

export type SpanSink = (spans: SpanRecord[]) => void;

export function subscribeTraceRecorder(
  owner: object,
  sample: Sampler,
  upstreams: ReadonlyMap<string, UpstreamIdentity>,
  sink: SpanSink,
): () => void {
  // In-flight sampled requests of this gateway. Every request that starts ends (observe's finally), so
  // entries never outlive their request.
  const records = new Map<RequestContext, RequestRecord>();
  const recordOf = (ctx: RequestContext): RequestRecord | undefined =>
    ctx.traceSampled ? records.get(ctx) : undefined;

  const unsubscribe = [
    subscribe(requestStart, (message) => {
      const ctx = message as RequestContext;
      if (ctx.owner !== owner) return;
      ctx.traceSampled = sample(ctx.traceId, ctx.parentSpanId !== '', ctx.traceSampled);
      if (ctx.traceSampled) records.set(ctx, new RequestRecord());
    }),
    subscribe(attemptStart, (message) => {
      const event = message as AttemptEvent;
      recordOf(event.ctx)?.attempts.push({ event, startedAt: performance.now(), endedAt: undefined });
    }),
    subscribe(attemptEnd, (message) => {
      const event = message as AttemptEvent;
      const record = recordOf(event.ctx);
      if (record === undefined) return;
      // The same event object is published at start and end; hedged attempts may end in any order.
      for (const attempt of record.attempts) if (attempt.event === event) attempt.endedAt = performance.now();
    }),
    subscribe(admissionDecision, (message) => {
      const event = message as AdmissionEvent;
      recordOf(event.ctx)?.admissions.push({ event, at: performance.now() });
    }),
    subscribe(routeDecision, (message) => {
      const event = message as RouteDecisionEvent;
      recordOf(event.ctx)?.routes.push({ event, at: performance.now() });
    }),
    subscribe(requestEnd, (message) => {
      const ctx = message as RequestContext;
      const record = recordOf(ctx);
      if (record === undefined) return;
      records.delete(ctx);
      sink(buildSpans(ctx, record, upstreams, newSpanId));
    }),
  ];
  return () => {
    for (const off of unsubscribe) off();
    records.clear();
  };
}
