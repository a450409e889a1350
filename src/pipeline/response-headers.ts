/** Headers every proxied answer carries, naming the request and the target that answered. */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from './context.js';

/** Milliseconds with at most three decimals (a microsecond), never negative. */
function ms(value: number): number {
  return value > 0 ? Math.round(value * 1000) / 1000 : 0;
}

/**
 * The `Server-Timing` header (https://www.w3.org/TR/server-timing/), in milliseconds: `auth` (arrival to
 * the key resolved), `admission` (deciding limits and budgets), `queue` (waiting for targets' concurrency
 * slots), `upstream` (the first attempt's start to the first byte, the head, of the upstream's answer: a
 * retry's earlier attempts are inside it) and `total` (arrival to `now`, when this head is written). A
 * stream's head is written at its first chunk, so there `total` is the time to the head, not to the end.
 * A stage that did not run has no entry. One string per answer, built from what the stages recorded.
 */
export function serverTiming(ctx: RequestContext, now: number): string {
  let timing = '';
  if (ctx.authenticatedAt !== undefined) timing += `auth;dur=${ms(ctx.authenticatedAt - ctx.startedAt)}, `;
  if (ctx.admissionMs > 0) timing += `admission;dur=${ms(ctx.admissionMs)}, `;
  // The queue exists only on targets with adaptive concurrency; a free slot is a wait of 0.
  if (ctx.queueMs > 0 || ctx.target?.slots !== undefined) timing += `queue;dur=${ms(ctx.queueMs)}, `;
  const upstreamStartedAt = ctx.upstreamStartedAt;
  if (upstreamStartedAt !== undefined && ctx.upstreamFirstByteAt !== undefined)
    timing += `upstream;dur=${ms(ctx.upstreamFirstByteAt - upstreamStartedAt)}, `;
  return `${timing}total;dur=${ms(now - ctx.startedAt)}`;
}

export function gatewayHeaders(ctx: RequestContext, contentType: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'content-type': contentType,
    'x-sluice-request-id': ctx.id,
    'x-sluice-attempts': String(ctx.attempts),
    'server-timing': serverTiming(ctx, performance.now()),
  };
  if (ctx.target !== undefined) {
    headers['x-sluice-model'] = ctx.target.model;
    headers['x-sluice-provider'] = ctx.target.provider.name;
  }
  // What routing did, when it did more than one plain attempt: each target tried or skipped, and why.
  if (ctx.routeLog !== undefined) headers['x-sluice-route'] = ctx.routeLog.join(', ');
  return headers;
}
