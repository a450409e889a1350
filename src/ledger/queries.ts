/**
 * The read queries, built once for both backends with `?` placeholders (PostgreSQL's driver gets them
 * numbered by `numberPlaceholders`). Column names never come from the caller: group_by and filters map
 * through fixed tables, and every value is a bound parameter.
 */
import {
  LedgerQueryError,
  type LedgerEntry,
  type LedgerFilters,
  type RequestQuery,
  type SpendGroup,
  type SpendGroupBy,
  type SpendQuery,
} from './ledger.js';
import { columns, epochMs } from './rows.js';

export type SqlValue = string | number | null;

export interface Sql {
  text: string;
  values: SqlValue[];
}

const groupColumns: Record<SpendGroupBy, string> = {
  key: 'key_name',
  team: 'team',
  model: 'model',
  end_user: 'end_user',
};

const filterColumns = {
  key: 'key_name',
  team: 'team',
  end_user: 'end_user',
  model: 'model',
  status: 'status',
  trace_id: 'trace_id',
} as const satisfies Partial<Record<keyof LedgerFilters, string>>;

export const defaultPageSize = 50;
export const maxPageSize = 1_000;

export function spendSql(query: SpendQuery): Sql {
  const column = groupColumns[query.groupBy];
  if (column === undefined) throw new LedgerQueryError(`group_by must be one of ${groupByNames()}`);
  const where = conditions({
    ...query.filters,
    from: query.from ?? query.filters?.from,
    to: query.to ?? query.filters?.to,
  });
  return {
    text:
      `SELECT ${column} AS grp, SUM(cost_usd) AS spend_usd, COUNT(*) AS requests,` +
      ` SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens` +
      ` FROM ledger_requests${whereText(where.parts)} GROUP BY ${column}`,
    values: where.values,
  };
}

/**
 * Sums come back as numbers (SQLite) or as numeric strings (PostgreSQL's SUM of BIGINT); the order is set
 * here rather than in SQL so that NULL placement and string collation cannot differ between backends.
 */
export function spendGroups(rows: readonly Record<string, unknown>[]): SpendGroup[] {
  const groups = rows.map((row) => ({
    group: row['grp'] == null ? null : String(row['grp']),
    spend_usd: Number(row['spend_usd'] ?? 0),
    requests: Number(row['requests'] ?? 0),
    input_tokens: Number(row['input_tokens'] ?? 0),
    output_tokens: Number(row['output_tokens'] ?? 0),
  }));
  return groups.sort(
    (a, b) =>
      b.spend_usd - a.spend_usd ||
      (a.group === null ? 1 : 0) - (b.group === null ? 1 : 0) ||
      compareStrings(a.group ?? '', b.group ?? ''),
  );
}

export interface RequestsSql extends Sql {
  limit: number;
}

/**
 * Keyset pagination over (ts, request_id) descending: the cursor is the last row of the page, and the
 * next page is what sorts strictly after it. Unlike OFFSET, rows arriving meanwhile (always newer) cannot
 * shift a page, so walking the pages sees every older row once: no duplicates, no gaps.
 */
export function requestsSql(query: RequestQuery): RequestsSql {
  const limit = query.limit ?? defaultPageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new LedgerQueryError(`limit must be an integer from 1 to ${maxPageSize}`);
  }
  const where = conditions(query.filters ?? {});
  if (query.cursor != null) {
    const [ts, requestId] = decodeCursor(query.cursor);
    where.parts.push('(ts < ? OR (ts = ? AND request_id < ?))');
    where.values.push(ts, ts, requestId);
  }
  return {
    // One row beyond the page says whether there is a next one.
    text:
      `SELECT ${columns.join(', ')} FROM ledger_requests${whereText(where.parts)}` +
      ` ORDER BY ts DESC, request_id DESC LIMIT ?`,
    values: [...where.values, limit + 1],
    limit,
  };
}

export function requestPage(
  entries: LedgerEntry[],
  limit: number,
): { data: LedgerEntry[]; nextCursor: string | null } {
  if (entries.length <= limit) return { data: entries, nextCursor: null };
  const data = entries.slice(0, limit);
  const last = data[data.length - 1] as LedgerEntry;
  return { data, nextCursor: encodeCursor(last.ts, last.request_id) };
}

export function encodeCursor(ts: number, requestId: string): string {
  return Buffer.from(JSON.stringify([ts, requestId])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new LedgerQueryError('invalid cursor');
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string'
  ) {
    throw new LedgerQueryError('invalid cursor');
  }
  return [value[0] as number, value[1]];
}

/** `?` → `$1, $2, …` for PostgreSQL; the SQL built here never has a `?` inside a literal. */
export function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

function conditions(filters: LedgerFilters): { parts: string[]; values: SqlValue[] } {
  const parts: string[] = [];
  const values: SqlValue[] = [];
  if (filters.from !== undefined) {
    parts.push('ts >= ?');
    values.push(epochMs('from', filters.from));
  }
  if (filters.to !== undefined) {
    parts.push('ts < ?');
    values.push(epochMs('to', filters.to));
  }
  for (const [name, column] of Object.entries(filterColumns) as [keyof typeof filterColumns, string][]) {
    const value = filters[name];
    if (value === undefined) continue;
    if (value === null) {
      parts.push(`${column} IS NULL`);
    } else {
      parts.push(`${column} = ?`);
      values.push(value);
    }
  }
  return { parts, values };
}

function whereText(parts: readonly string[]): string {
  return parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`;
}

function groupByNames(): string {
  return Object.keys(groupColumns).join(', ');
}

/** Code-unit order, the same everywhere (localeCompare would depend on the process's ICU locale). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
