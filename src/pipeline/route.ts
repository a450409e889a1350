/**
 * Resolves the requested model to its route and reads the client's deadline. A model the key may not use
 * answers exactly like an unknown one (404 model_not_found, as OpenAI does), so keys cannot probe the
 * catalog. Which target serves the request is decided by attempt-upstream.ts.
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { Catalog } from '../routing/catalog.js';
import type { Stage } from './context.js';

/** Longest deadline a client may ask for; beyond it the providers' own timeouts govern anyway. */
const maxDeadlineMs = 24 * 60 * 60 * 1000;

function deadlineOf(value: string | string[] | undefined, startedAt: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  const ms = Number(text);
  if (text === undefined || !/^\d+$/.test(text.trim()) || ms < 1 || ms > maxDeadlineMs) {
    throw new GatewayError(
      'invalid_request',
      `x-sluice-timeout-ms: expected a whole number of milliseconds from 1 to ${maxDeadlineMs}`,
      { param: 'x-sluice-timeout-ms' },
    );
  }
  return startedAt + ms;
}

/** The key's class is the default and the ceiling: a client may only lower it to batch. */
function priorityOf(
  value: string | string[] | undefined,
  ceiling: 'interactive' | 'batch',
): 'interactive' | 'batch' {
  if (value === undefined) return ceiling;
  const text = (Array.isArray(value) ? value[0] : value)?.trim().toLowerCase();
  if (text === 'batch') return 'batch';
  if (text === 'interactive') return ceiling;
  throw new GatewayError('invalid_request', 'x-sluice-priority: expected "interactive" or "batch"', {
    param: 'x-sluice-priority',
  });
}

export function route(catalog: Catalog): Stage {
  // Not async: it only hands on to next() (see authenticate.ts).
  return (ctx, next) => {
    const name = ctx.requestedModel as string;
    const model = catalog.get(name);
    const allowed = ctx.key?.models;
    if (model === undefined || (allowed !== undefined && !allowed.has(name))) {
      throw new GatewayError(
        'model_not_found',
        `The model \`${name.slice(0, 200)}\` does not exist or this key does not have access to it.`,
        {
          param: 'model',
        },
      );
    }
    ctx.model = model;
    ctx.deadlineAt = deadlineOf(ctx.req.headers['x-sluice-timeout-ms'], ctx.startedAt);
    ctx.priority = priorityOf(ctx.req.headers['x-sluice-priority'], ctx.key?.priority ?? 'interactive');
    return next();
  };
}
