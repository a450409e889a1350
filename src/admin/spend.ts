/**
 * `GET /admin/spend?group_by=key|team|model|end_user&from=ISO&to=ISO`, from the ledger (CONTRACT.md):
 * `{ "data": [ { "group", "spend_usd", "requests", "input_tokens", "output_tokens" } ] }`.
 *
 * Guarded by `server.admin_key` (Bearer), compared as digests in constant time; without an admin key
 * configured, /admin answers 404, so an unconfigured gateway exposes nothing. Bad parameters are a 400
 * naming the parameter.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { digestOf } from '../auth/virtual-keys.js';
import { LedgerQueryError, type LedgerStore } from '../ledger/index.js';

const groups = new Set(['key', 'team', 'model', 'end_user']);

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function error(res: ServerResponse, status: number, code: string, message: string, param?: string): void {
  send(res, status, { error: { message, type: 'invalid_request_error', param: param ?? null, code } });
}

/** Whether the request carries the admin key; answers 401 itself when not. */
export function adminAuthorized(req: IncomingMessage, res: ServerResponse, adminDigest: Buffer): boolean {
  const header = req.headers.authorization;
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const presented = Buffer.from(digestOf(token), 'base64');
  if (token === '' || !timingSafeEqual(presented, adminDigest)) {
    error(res, 401, 'unauthorized', 'this endpoint needs the admin key as a Bearer token');
    return false;
  }
  return true;
}

function instant(value: string | null, name: string): Date | undefined | Error {
  if (value === null || value === '') return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime())
    ? new Error(`${name} must be an ISO 8601 time, got ${JSON.stringify(value.slice(0, 64))}`)
    : at;
}

export async function handleSpend(url: URL, res: ServerResponse, store: LedgerStore): Promise<void> {
  const groupBy = url.searchParams.get('group_by') ?? 'key';
  if (!groups.has(groupBy)) {
    return error(
      res,
      400,
      'invalid_parameter',
      'group_by must be one of key, team, model, end_user',
      'group_by',
    );
  }
  const from = instant(url.searchParams.get('from'), 'from');
  const to = instant(url.searchParams.get('to'), 'to');
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (value instanceof Error) return error(res, 400, 'invalid_parameter', value.message, name);
  }
  try {
    const result = await store.spend({
      groupBy: groupBy as 'key' | 'team' | 'model' | 'end_user',
      ...(from instanceof Date ? { from } : {}),
      ...(to instanceof Date ? { to } : {}),
    });
    send(res, 200, result);
  } catch (cause) {
    if (cause instanceof LedgerQueryError) return error(res, 400, 'invalid_parameter', cause.message);
    throw cause;
  }
}
