/**
 * Turns whatever a stage threw into an answer in the route's own error format, with the
 * status from the error table. Unknown exceptions become a 500 whose body says nothing about internals;
 * the log line keeps the detail.
 */
import { specOf } from '../errors/error-table.js';
import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import { openAIErrorBody } from '../formats/openai-error.js';
import type { RequestContext, Stage } from './context.js';
import { gatewayHeaders } from './response-headers.js';

export function toGatewayError(error: unknown): GatewayError {
  if (isGatewayError(error)) return error;
  return new GatewayError('internal', 'internal error', { cause: error });
}

export function writeError(ctx: RequestContext, error: GatewayError): void {
  const spec = specOf(error.kind);
  const status = error.statusOverride ?? spec.status;
  ctx.status = status;
  ctx.error = error;
  const res = ctx.res;
  if (res.headersSent || res.destroyed) return;
  const headers = gatewayHeaders(ctx, 'application/json');
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (!spec.retryable) headers['x-should-retry'] = 'false';
  if (error.headers !== undefined) Object.assign(headers, error.headers);
  res.writeHead(status, headers);
  res.end((ctx.format?.errorBody ?? openAIErrorBody)(error));
}

export const handleErrors: Stage = async (ctx, next) => {
  try {
    await next();
  } catch (thrown) {
    const error = toGatewayError(thrown);
    if (error.kind === 'client_closed') {
      ctx.status = specOf('client_closed').status;
      ctx.error = error;
      return;
    }
    writeError(ctx, error);
  }
};
