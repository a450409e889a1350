/**
 * `GET /admin/requests?trace_id=&model=&status=&team=&key=&from=&to=&limit=&cursor=` (CONTRACT.md): the
 * request log, newest first, from the ledger's rows, with keyset pagination (`next_cursor`, stable while
 * rows are being added). `key` is the key's name, as in the ledger and the access log. A trace id from a
 * page, a slow exemplar or a log line finds its request here.
 */
import type { ServerResponse } from 'node:http';
import { LedgerQueryError, type LedgerEntry, type LedgerFilters, type LedgerStore } from '../ledger/index.js';
import { AdminError, send } from './http.js';
import { instant } from './spend.js';

function entryView(e: LedgerEntry): Record<string, unknown> {
  return {
    request_id: e.request_id,
    trace_id: e.trace_id,
    time: new Date(e.ts).toISOString(),
    key: e.key_name,
    team: e.team,
    end_user: e.end_user,
    model: e.model,
    provider: e.provider,
    target_model: e.target_model,
    status: e.status,
    error: e.error_kind,
    attempts: e.attempts,
    input_tokens: e.input_tokens,
    output_tokens: e.output_tokens,
    cached_input_tokens: e.cached_input_tokens,
    cost_usd: e.cost_usd,
    latency_ms: e.latency_ms,
    ttft_ms: e.ttft_ms,
  };
}

export async function handleRequests(url: URL, res: ServerResponse, store: LedgerStore): Promise<void> {
  const q = url.searchParams;
  const filters: LedgerFilters = {};
  for (const name of ['key', 'team', 'model', 'trace_id'] as const) {
    const value = q.get(name);
    if (value !== null && value !== '') filters[name] = value;
  }
  const status = q.get('status');
  if (status !== null && status !== '') {
    if (!/^[1-5]\d\d$/.test(status))
      throw new AdminError(400, 'invalid_parameter', 'status must be an HTTP status such as 429', 'status');
    filters.status = Number(status);
  }
  for (const name of ['from', 'to'] as const) {
    const at = instant(q.get(name), name);
    if (at !== undefined) filters[name] = at;
  }
  const limitText = q.get('limit');
  let limit: number | undefined;
  if (limitText !== null && limitText !== '') {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new AdminError(400, 'invalid_parameter', 'limit must be an integer from 1 to 1000', 'limit');
  }
  try {
    const page = await store.requests({ filters, limit, cursor: q.get('cursor') });
    send(res, 200, { data: page.data.map(entryView), next_cursor: page.nextCursor });
  } catch (cause) {
    if (cause instanceof LedgerQueryError)
      throw new AdminError(400, 'invalid_parameter', cause.message, 'cursor');
    throw cause;
  }
}
