/** One access line per request, from the request:end event. Carries names, never secrets or prompts. */
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import { requestEnd, subscribe } from './events.js';

const round = (ms: number): number => Math.round(ms * 100) / 100;

export function subscribeAccessLog(owner: object, logger: Logger): () => void {
  const onEnd = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner) return;
    const line: Record<string, unknown> = {
      msg: 'request',
      request_id: ctx.id,
      route: ctx.route,
      status: ctx.status,
      duration_ms: round((ctx.endedAt ?? performance.now()) - ctx.startedAt),
      attempts: ctx.attempts,
    };
    if (ctx.key !== undefined) line['key_name'] = ctx.key.name;
    if (ctx.key?.team !== undefined) line['team'] = ctx.key.team;
    if (ctx.model !== undefined) line['model'] = ctx.model.name;
    if (ctx.target !== undefined) {
      line['provider'] = ctx.target.provider.name;
      line['target_model'] = ctx.target.model;
    }
    if (ctx.routeLog !== undefined) line['route_log'] = ctx.routeLog;
    if (ctx.chat !== undefined) line['stream'] = ctx.chat.stream;
    if (ctx.firstTokenAt !== undefined) line['ttft_ms'] = round(ctx.firstTokenAt - ctx.startedAt);
    if (ctx.usage !== undefined) {
      line['input_tokens'] = ctx.usage.inputTokens;
      line['output_tokens'] = ctx.usage.outputTokens;
    }
    if (ctx.error !== undefined) {
      line['error_kind'] = ctx.error.kind;
      line['error'] = ctx.error.message;
      // Internal failures keep their stack here, in the log only; the client saw a bare "internal error".
      if (ctx.error.kind === 'internal' && ctx.error.cause !== undefined) line['err'] = ctx.error.cause;
    }
    if (ctx.status >= 500 && ctx.status !== 499) logger.warn(line);
    else logger.info(line);
  };
  return subscribe(requestEnd, onEnd);
}
