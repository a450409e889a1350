/**
 * `GET /admin/spend?group_by=key|team|model|end_user&from=ISO&to=ISO`, from the ledger (CONTRACT.md):
 * `{ "data": [ { "group", "spend_usd", "requests", "input_tokens", "output_tokens" } ] }`. Bad parameters
 * are a 400 naming the parameter.
 */
import type { ServerResponse } from 'node:http';
import { LedgerQueryError, type LedgerStore } from '../ledger/index.js';
import { AdminError, send } from './http.js';

const groups = new Set(['key', 'team', 'model', 'end_user']);

/** An ISO 8601 query parameter; undefined when absent; a 400 naming it when it is not a time. */
export function instant(value: string | null, name: string): Date | undefined {
  if (value === null || value === '') return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new AdminError(
      400,
      'invalid_parameter',
      `${name} must be an ISO 8601 time, got ${JSON.stringify(value.slice(0, 64))}`,
      name,
    );
  return at;
}

export async function handleSpend(url: URL, res: ServerResponse, store: LedgerStore): Promise<void> {
  const groupBy = url.searchParams.get('group_by') ?? 'key';
  if (!groups.has(groupBy))
    throw new AdminError(
      400,
      'invalid_parameter',
      'group_by must be one of key, team, model, end_user',
      'group_by',
    );
  const from = instant(url.searchParams.get('from'), 'from');
  const to = instant(url.searchParams.get('to'), 'to');
  try {
    const result = await store.spend({
      groupBy: groupBy as 'key' | 'team' | 'model' | 'end_user',
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    send(res, 200, result);
  } catch (cause) {
    if (cause instanceof LedgerQueryError) throw new AdminError(400, 'invalid_parameter', cause.message);
    throw cause;
  }
}
