/**
 * Stages as an onion (Koa's and Hono's compose): each stage runs code before and after `next()`. New
 * capabilities arrive as new stages, not as branches inside old ones.
 */
import type { Next, RequestContext, Stage } from './context.js';

export function compose(stages: readonly Stage[]): (ctx: RequestContext) => Promise<void> {
  return (ctx) => {
    let last = -1;
    const dispatch = (i: number): Promise<void> => {
      if (i <= last) return Promise.reject(new Error('next() called twice in one stage'));
      last = i;
      const stage = stages[i];
      if (stage === undefined) return Promise.resolve();
      const next: Next = () => dispatch(i + 1);
      try {
        return stage(ctx, next);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}
