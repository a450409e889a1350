/**
 * One access line per request, from the request:end event. Carries names, never secrets or prompts.
 *
 * The line is written as text straight to the logger's buffered destination, in exactly the shape pino
 * writes (`level` label, epoch `time`, the `service` binding, `msg`): going through `logger.info(object)`
 * would walk the object twice (redaction, then serialisation) for a line whose fields are all known here,
 * which cost about a tenth of the gateway's throughput in the bench. Only a line that carries an internal
 * error's stack takes pino's path, for its error serializer.
 */
import { pino, type Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import { requestEnd, subscribe } from './events.js';

const round = (ms: number): number => Math.round(ms * 100) / 100;
const q = JSON.stringify;

interface Writable {
  write(line: string): unknown;
}

/** The fields of the line after `msg`, as JSON members (each starting with a comma). */
function fields(ctx: RequestContext): string {
  let out =
    `,"request_id":"${ctx.id}","route":"${ctx.route}","status":${ctx.status}` +
    `,"duration_ms":${round((ctx.endedAt ?? performance.now()) - ctx.startedAt)},"attempts":${ctx.attempts}`;
  const key = ctx.key;
  if (key !== undefined) {
    out += `,"key_name":${q(key.name)}`;
    if (key.team !== undefined) out += `,"team":${q(key.team)}`;
  }
  if (ctx.model !== undefined) out += `,"model":${q(ctx.model.name)}`;
  const target = ctx.target;
  if (target !== undefined) out += `,"provider":${q(target.provider.name)},"target_model":${q(target.model)}`;
  if (ctx.routeLog !== undefined) out += `,"route_log":${q(ctx.routeLog)}`;
  if (ctx.chat !== undefined) out += `,"stream":${ctx.chat.stream}`;
  if (ctx.firstTokenAt !== undefined) out += `,"ttft_ms":${round(ctx.firstTokenAt - ctx.startedAt)}`;
  const usage = ctx.usage;
  if (usage !== undefined)
    out += `,"input_tokens":${usage.inputTokens},"output_tokens":${usage.outputTokens}`;
  if (ctx.costUsd !== undefined) out += `,"cost_usd":${ctx.costUsd}`;
  const error = ctx.error;
  if (error !== undefined) out += `,"error_kind":"${error.kind}","error":${q(error.message)}`;
  return out;
}

export function subscribeAccessLog(owner: object, logger: Logger): () => void {
  const stream = (logger as unknown as Record<symbol, Writable | undefined>)[pino.symbols.streamSym];
  const service = q((logger.bindings() as { service?: unknown }).service ?? 'sluice');
  const onEnd = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner) return;
    const warn = ctx.status >= 500 && ctx.status !== 499;
    if (!logger.isLevelEnabled(warn ? 'warn' : 'info')) return;
    const error = ctx.error;
    if (stream === undefined || (error?.kind === 'internal' && error.cause !== undefined)) {
      // Internal failures keep their stack here, in the log only; the client saw a bare "internal error".
      const line = JSON.parse(`{"msg":"request"${fields(ctx)}}`) as Record<string, unknown>;
      if (error?.cause !== undefined) line['err'] = error.cause;
      if (warn) logger.warn(line);
      else logger.info(line);
      return;
    }
    stream.write(
      `{"level":"${warn ? 'warn' : 'info'}","time":${Date.now()},"service":${service},"msg":"request"${fields(ctx)}}\n`,
    );
  };
  return subscribe(requestEnd, onEnd);
}
