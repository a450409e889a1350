/**
 * Checking and shaping rows before they reach the journal or a database. A row either becomes a
 * LedgerEntry every backend can store, or is refused here with a TypeError: a row the database would
 * reject must never enter the journal or a batch, where it would fail its whole batch on every retry.
 */
import type { LedgerEntry, LedgerRow } from './ledger.js';

/** The columns in insert order; the same list builds every INSERT and SELECT. */
export const columns = [
  'request_id',
  'ts',
  'key_name',
  'team',
  'end_user',
  'model',
  'provider',
  'target_model',
  'status',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cost_usd',
  'latency_ms',
  'ttft_ms',
  'trace_id',
  'error_kind',
  'attempts',
] as const satisfies readonly (keyof LedgerEntry)[];

/**
 * Longest stored text, in UTF-16 code units. end_user comes from the client, so it is cut rather than
 * refused; the bound also keeps a journal line, and so a batch in memory, small.
 */
export const maxTextLength = 1_024;
/** request_id is refused rather than cut: two ids cut to one would make the second request vanish. */
export const maxRequestIdLength = 255;
/** Columns declared INTEGER (32-bit on PostgreSQL); the token columns are BIGINT. */
const maxInt32 = 2_147_483_647;

export function normalizeRow(row: LedgerRow): LedgerEntry {
  if (row === null || typeof row !== 'object') throw new TypeError('ledger row: not an object');
  return {
    request_id: requestId(row.request_id),
    ts: timestamp(row.ts),
    key_name: text('key_name', row.key_name),
    team: nullableText('team', row.team),
    end_user: nullableText('end_user', row.end_user),
    model: text('model', row.model),
    provider: nullableText('provider', row.provider),
    target_model: nullableText('target_model', row.target_model),
    status: count('status', row.status, maxInt32),
    input_tokens: count('input_tokens', row.input_tokens),
    output_tokens: count('output_tokens', row.output_tokens),
    cached_input_tokens: count('cached_input_tokens', row.cached_input_tokens ?? 0),
    cost_usd: money(row.cost_usd),
    latency_ms: count('latency_ms', row.latency_ms, maxInt32),
    ttft_ms: row.ttft_ms == null ? null : count('ttft_ms', row.ttft_ms, maxInt32),
    trace_id: nullableText('trace_id', row.trace_id),
    error_kind: nullableText('error_kind', row.error_kind),
    attempts: count('attempts', row.attempts, maxInt32),
  };
}

/** The values of an entry in `columns` order, for a prepared INSERT. */
export function entryValues(entry: LedgerEntry): (string | number | null)[] {
  return columns.map((column) => entry[column]);
}

/**
 * A row read back from either driver. PostgreSQL returns BIGINT as a string (it may exceed 2^53); every
 * value stored here is a safe integer (see `count`), so Number() is exact.
 */
export function entryFromDatabase(raw: Record<string, unknown>): LedgerEntry {
  return {
    request_id: String(raw['request_id']),
    ts: Number(raw['ts']),
    key_name: String(raw['key_name']),
    team: nullableString(raw['team']),
    end_user: nullableString(raw['end_user']),
    model: String(raw['model']),
    provider: nullableString(raw['provider']),
    target_model: nullableString(raw['target_model']),
    status: Number(raw['status']),
    input_tokens: Number(raw['input_tokens']),
    output_tokens: Number(raw['output_tokens']),
    cached_input_tokens: Number(raw['cached_input_tokens']),
    cost_usd: Number(raw['cost_usd']),
    latency_ms: Number(raw['latency_ms']),
    ttft_ms: raw['ttft_ms'] == null ? null : Number(raw['ttft_ms']),
    trace_id: nullableString(raw['trace_id']),
    error_kind: nullableString(raw['error_kind']),
    attempts: Number(raw['attempts']),
  };
}

/** Epoch milliseconds from a bound given as a number or a Date (the spend and request-log ranges). */
export function epochMs(name: string, value: number | Date): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new TypeError(`ledger: ${name} is not a time`);
  return Math.trunc(ms);
}

function requestId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError('ledger row: request_id must be a non-empty string');
  }
  if (value.length > maxRequestIdLength || value.includes('\u0000')) {
    throw new TypeError(`ledger row: request_id must be at most ${maxRequestIdLength} characters, no NUL`);
  }
  return value;
}

function timestamp(value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError('ledger row: ts must be epoch milliseconds or a valid Date');
  }
  return Math.trunc(ms);
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`ledger row: ${name} must be a string`);
  return clean(value);
}

function nullableText(name: string, value: unknown): string | null {
  return value == null ? null : text(name, value);
}

/**
 * PostgreSQL refuses NUL in text ("invalid byte sequence"), so it is dropped; the cut never splits a
 * surrogate pair, which would store U+FFFD instead of the character.
 */
function clean(value: string): string {
  let cleaned = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  if (cleaned.length > maxTextLength) {
    const end = isHighSurrogate(cleaned.charCodeAt(maxTextLength - 1)) ? maxTextLength - 1 : maxTextLength;
    cleaned = cleaned.slice(0, end);
  }
  return cleaned;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Durations from performance.now() arrive fractional: rounded, not refused. */
function count(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new TypeError(`ledger row: ${name} must be a number from 0 to ${max}`);
  }
  return Math.round(value);
}

function money(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError('ledger row: cost_usd must be a finite number');
  }
  return value;
}

function nullableString(value: unknown): string | null {
  return value == null ? null : String(value);
}
