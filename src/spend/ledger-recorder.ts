/**
 * Writes one ledger row per routed request (docs/ledger.md), from the request:end event: who (key, team,
 * end-user), what (model, the target that answered), how much (tokens, cost at the target's price) and
 * how it went (status, latency, time to first token, error kind, attempts). `record()` is synchronous
 * and does no I/O on the request's path; the writer batches rows off it.
 *
 * Requests refused before routing (bad JSON, unknown key or model) have no model and are not recorded;
 * refusals by limits and budgets are, with cost 0.
 */
import type { Logger } from 'pino';
import type { LedgerWriter } from '../ledger/index.js';
import { requestEnd, subscribe } from '../observability/events.js';
import type { RequestContext } from '../pipeline/context.js';
import { endUserOf } from '../pipeline/end-user.js';
import type { PriceBook } from './price-book.js';

export function subscribeLedger(
  owner: object,
  writer: LedgerWriter,
  prices: PriceBook,
  logger: Logger,
): () => void {
  let warned = false;
  return subscribe(requestEnd, (message) => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner || ctx.model === undefined) return;
    const now = performance.now();
    const usage = ctx.usage;
    const target = ctx.target;
    const cost =
      ctx.costUsd ??
      (usage !== undefined && target !== undefined ? prices.costUsd(ctx.model.name, target.id, usage) : 0);
    const accepted = writer.record({
      request_id: ctx.id,
      ts: Date.now() - (now - ctx.startedAt),
      key_name: ctx.key?.name ?? 'anonymous',
      team: ctx.key?.team ?? null,
      end_user: endUserOf(ctx) ?? null,
      model: ctx.model.name,
      provider: target?.provider.name ?? null,
      target_model: target?.model ?? null,
      status: ctx.status,
      input_tokens: usage?.inputTokens ?? 0,
      output_tokens: usage?.outputTokens ?? 0,
      cached_input_tokens: usage?.cachedInputTokens ?? 0,
      cost_usd: cost,
      latency_ms: (ctx.endedAt ?? now) - ctx.startedAt,
      ttft_ms: ctx.firstTokenAt === undefined ? null : ctx.firstTokenAt - ctx.startedAt,
      // Set by observe for every request (a client's trace or a new one): a trace id finds its row.
      trace_id: ctx.traceId === '' ? null : ctx.traceId,
      error_kind: ctx.error?.kind ?? null,
      attempts: ctx.attempts,
    });
    if (!accepted && !warned) {
      warned = true;
      logger.error('the ledger journal is full: request rows are being dropped (see docs/ledger.md)');
    }
  });
}
