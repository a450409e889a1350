/**
 * Outermost stage: announces the request's start and end on the diagnostics channels, whatever happens
 * inside. Metrics and access logs hang off these events.
 */
import { publish, requestEnd, requestStart } from '../observability/events.js';
import type { Stage } from './context.js';

export const observe: Stage = async (ctx, next) => {
  publish(requestStart, ctx);
  try {
    await next();
  } finally {
    ctx.endedAt = performance.now();
    publish(requestEnd, ctx);
  }
};
