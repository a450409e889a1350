/**
 * Makes the upstream attempt for the chosen target and leaves its outcome on the context. The outcome is
 * "opened" (status known, a stream's first chunk in hand) but not yet written, so a routing stage wrapped
 * around this one can still retry or fail over.
 */
import { attemptEnd, attemptStart, firstToken, publish, type AttemptEvent } from '../observability/events.js';
import type { RequestContext, Stage } from './context.js';
import type { UpstreamCall } from '../providers/provider.js';

function markFirstToken(ctx: RequestContext): () => void {
  return () => {
    if (ctx.firstTokenAt !== undefined) return;
    ctx.firstTokenAt = performance.now();
    publish(firstToken, ctx);
  };
}

export const callUpstream: Stage = async (ctx, next) => {
  const target = ctx.target;
  if (target === undefined) throw new Error('call-upstream needs a target (route stage missing)');
  ctx.attempts += 1;
  const event: AttemptEvent = {
    ctx,
    provider: target.provider.name,
    model: target.model,
    attempt: ctx.attempts,
  };
  publish(attemptStart, event);
  ctx.upstreamStartedAt = performance.now();
  const base = {
    model: target.model,
    cancel: ctx.clientGone,
    timeouts: target.timeouts,
    requestId: ctx.id,
    inboundFormat: ctx.format?.name ?? 'openai',
    inboundHeaders: ctx.req.headers,
    onFirstToken: markFirstToken(ctx),
  };
  try {
    if (ctx.chat !== undefined) {
      const chat = ctx.chat;
      const call: UpstreamCall<typeof chat.body> = {
        ...base,
        body: chat.body,
        inboundBody: chat.inboundBody,
        stream: chat.stream,
      };
      ctx.outcome = await target.provider.chat(call);
    } else {
      const embeddings = ctx.embeddings!;
      ctx.outcome = await target.provider.embeddings({
        ...base,
        body: embeddings.body,
        inboundBody: embeddings.body,
        stream: false,
      });
    }
  } catch (error) {
    event.error = error;
    publish(attemptEnd, event);
    throw error;
  }
  publish(attemptEnd, event);
  return next();
};
