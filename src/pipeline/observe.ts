/**
 * Outermost stage: joins the client's trace or starts one, and announces the request's start and end on
 * the diagnostics channels, whatever happens inside. Metrics, traces, access logs and the ledger hang off
 * these events.
 *
 * Every request gets a trace id and a server span id, traced or not: log lines, ledger rows and metric
 * exemplars carry them, and the upstream receives them in its traceparent. A valid W3C `traceparent`
 * keeps the client's trace id and its sampled flag (parent-based sampling); without one, the trace starts
 * here unsampled, and the tracing subscriber, when export is configured, decides on request:start
 * (observability/tracing/sampler.ts). So a gateway without tracing records nothing yet still passes the
 * client's decision on, as the spec asks of every participant.
 */
import { publish, requestEnd, requestStart } from '../observability/events.js';
import { newSpanId, newTraceId } from '../observability/tracing/random-ids.js';
import { parseTraceparent, readTracestate } from '../observability/tracing/trace-context.js';
import type { RequestContext, Stage } from './context.js';

function joinTrace(ctx: RequestContext): void {
  const headers = ctx.req.headers;
  const incoming = headers.traceparent;
  const parent = incoming === undefined ? undefined : parseTraceparent(incoming);
  if (parent !== undefined) {
    ctx.traceId = parent.traceId;
    ctx.parentSpanId = parent.parentSpanId;
    ctx.traceSampled = parent.sampled;
    const state = headers.tracestate;
    if (state !== undefined) ctx.traceState = readTracestate(state);
  } else {
    ctx.traceId = newTraceId();
  }
  ctx.spanId = newSpanId();
}

export const observe: Stage = async (ctx, next) => {
  joinTrace(ctx);
  publish(requestStart, ctx);
  try {
    await next();
  } finally {
    ctx.endedAt = performance.now();
    publish(requestEnd, ctx);
  }
};
