/**
 * One access line per request, from the request:end event: who, what, where it went, how it went and how
 * long it took, with the request's ids (request_id, trace_id, span_id: the way from a trace to its log
 * line and ledger row, docs/observability.md). Carries names, never secrets or prompts.
 *
 * The line is written as text straight to the logger's buffered destination, in exactly the shape pino
 * writes (`level` label, epoch `time`, the `service` binding, `msg`): going through `logger.info(object)`
 * would walk the object twice (redaction, then serialisation) for a line whose fields are all known here,
 * which cost about a tenth of the gateway's throughput in the bench. Only a line that carries an internal
 * error's stack takes pino's path, for its error serializer.
 */
import { pino, type Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { admissionDecision, requestEnd, subscribe, type AdmissionEvent } from './events.js';

const round = (ms: number): number => Math.round(ms * 100) / 100;
const q = JSON.stringify;

interface Writable {
  write(line: string): unknown;
}

/**
 * The error's message as logged. A JSON parser's message quotes the bytes around the fault, which are the
 * client's prompt; the client got it to fix its request, the log keeps only what kind of fault it was.
 */
function loggedMessage(error: GatewayError): string {
  if (error.kind !== 'invalid_json') return error.message;
  const detail = error.message.indexOf(' (');
  return detail === -1 ? error.message : error.message.slice(0, detail);
}

/** The fields of the line after `msg`, as JSON members (each starting with a comma). */
function fields(ctx: RequestContext, admission: AdmissionEvent | undefined): string {
  // Ids are hex and UUIDs, and the route a fixed name: no escaping needed.
  let out =
    `,"request_id":"${ctx.id}","trace_id":"${ctx.traceId}","span_id":"${ctx.spanId}"` +
    `,"trace_sampled":${ctx.traceSampled},"route":"${ctx.route}","status":${ctx.status}` +
    `,"duration_ms":${round((ctx.endedAt ?? performance.now()) - ctx.startedAt)},"attempts":${ctx.attempts}`;
  const key = ctx.key;
  if (key !== undefined) {
    out += `,"key_name":${q(key.name)}`;
    if (key.team !== undefined) out += `,"team":${q(key.team)}`;
  }
  if (ctx.model !== undefined) out += `,"model":${q(ctx.model.name)}`;
  const target = ctx.target;
  if (target !== undefined)
    out += `,"provider":${q(target.provider.name)},"target":${q(target.id)},"target_model":${q(target.model)}`;
  if (ctx.routeLog !== undefined) out += `,"route_log":${q(ctx.routeLog)}`;
  if (ctx.chat !== undefined) out += `,"stream":${ctx.chat.stream}`;
  if (ctx.firstTokenAt !== undefined) out += `,"ttft_ms":${round(ctx.firstTokenAt - ctx.startedAt)}`;
  const usage = ctx.usage;
  if (usage !== undefined)
    out += `,"input_tokens":${usage.inputTokens},"output_tokens":${usage.outputTokens}`;
  if (ctx.costUsd !== undefined) out += `,"cost_usd":${ctx.costUsd}`;
  if (admission !== undefined)
    out += `,"admission":{"stage":"${admission.stage}","outcome":"${admission.outcome}","reason":${q(admission.reason)}}`;
  const error = ctx.error;
  if (error !== undefined) out += `,"error_kind":"${error.kind}","error":${q(loggedMessage(error))}`;
  return out;
}

export function subscribeAccessLog(owner: object, logger: Logger): () => void {
  const stream = (logger as unknown as Record<symbol, Writable | undefined>)[pino.symbols.streamSym];
  const service = q((logger.bindings() as { service?: unknown }).service ?? 'sluice');

  // Why a request was refused, shed or let through without its limits (state backend away, on_error:
  // open): the admission event that said so, kept until the request's line is written. Rare, so the
  // common line pays one integer test for it.
  const notable = new WeakMap<RequestContext, AdmissionEvent>();
  let noted = 0;
  const onAdmission = (message: unknown): void => {
    const event = message as AdmissionEvent;
    if (event.ctx.owner !== owner) return;
    if (event.outcome === 'admitted' && event.reason !== 'state_unavailable') return;
    if (!notable.has(event.ctx)) noted++;
    notable.set(event.ctx, event);
  };

  const onEnd = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner) return;
    let admission: AdmissionEvent | undefined;
    if (noted > 0) {
      admission = notable.get(ctx);
      if (admission !== undefined) {
        notable.delete(ctx);
        noted--;
      }
    }
    const warn = ctx.status >= 500 && ctx.status !== 499;
    if (!logger.isLevelEnabled(warn ? 'warn' : 'info')) return;
    const error = ctx.error;
    if (stream === undefined || (error?.kind === 'internal' && error.cause !== undefined)) {
      // Internal failures keep their stack here, in the log only; the client saw a bare "internal error".
      const line = JSON.parse(`{"msg":"request"${fields(ctx, admission)}}`) as Record<string, unknown>;
      if (error?.cause !== undefined) line['err'] = error.cause;
      if (warn) logger.warn(line);
      else logger.info(line);
      return;
    }
    stream.write(
      `{"level":"${warn ? 'warn' : 'info'}","time":${Date.now()},"service":${service},"msg":"request"${fields(ctx, admission)}}\n`,
    );
  };
  const unsubscribe = [subscribe(admissionDecision, onAdmission), subscribe(requestEnd, onEnd)];
  return () => {
    for (const off of unsubscribe) off();
  };
}
