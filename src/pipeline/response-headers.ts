/** Headers every proxied answer carries, naming the request and the target that answered. */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from './context.js';

export function gatewayHeaders(ctx: RequestContext, contentType: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'content-type': contentType,
    'x-sluice-request-id': ctx.id,
    'x-sluice-attempts': String(ctx.attempts),
  };
  if (ctx.target !== undefined) {
    headers['x-sluice-model'] = ctx.target.model;
    headers['x-sluice-provider'] = ctx.target.provider.name;
  }
  // What routing did, when it did more than one plain attempt: each target tried or skipped, and why.
  if (ctx.routeLog !== undefined) headers['x-sluice-route'] = ctx.routeLog.join(', ');
  return headers;
}
