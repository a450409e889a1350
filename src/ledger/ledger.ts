/**
 * The spend ledger: one row per request the gateway answered, written by LedgerWriter (batched, journaled)
 * and read by the admin API (spend totals, the request log). Every backend (sqlite-ledger.ts,
 * postgres-ledger.ts) implements LedgerStore over the same schema (migrations.ts) and passes the same
 * conformance suite (test/ledger-conformance.test.ts).
 */

/** What the pipeline records for one request. Optional fields are stored as NULL (cached tokens as 0). */
export interface LedgerRow {
  /** Unique per request: a second row with the same id is ignored (the first write wins). */
  request_id: string;
  /** When the request arrived: epoch milliseconds or a Date. */
  ts: number | Date;
  /** The virtual key's name (never the secret). */
  key_name: string;
  team?: string | null | undefined;
  /** The `user` field of the body or the `x-sluice-end-user` header. */
  end_user?: string | null | undefined;
  /** The model the client asked for. */
  model: string;
  /** The provider of the target that answered (or the last one tried); null when none was reached. */
  provider?: string | null | undefined;
  /** The upstream model name of that target. */
  target_model?: string | null | undefined;
  /** The HTTP status the client received. */
  status: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens?: number | undefined;
  cost_usd: number;
  latency_ms: number;
  /** Time to first token, for streams. */
  ttft_ms?: number | null | undefined;
  trace_id?: string | null | undefined;
  /** The GatewayError kind when the request failed. */
  error_kind?: string | null | undefined;
  /** Upstream attempts made (0 when the request never reached one). */
  attempts: number;
}

/** A row as stored and read back: every field present, `ts` in epoch milliseconds. */
export interface LedgerEntry {
  request_id: string;
  ts: number;
  key_name: string;
  team: string | null;
  end_user: string | null;
  model: string;
  provider: string | null;
  target_model: string | null;
  status: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_usd: number;
  latency_ms: number;
  ttft_ms: number | null;
  trace_id: string | null;
  error_kind: string | null;
  attempts: number;
}

export type SpendGroupBy = 'key' | 'team' | 'model' | 'end_user';

/** Exact-match filters; `null` on a nullable column matches rows where it is NULL. */
export interface LedgerFilters {
  key?: string | undefined;
  team?: string | null | undefined;
  end_user?: string | null | undefined;
  model?: string | undefined;
  status?: number | undefined;
  trace_id?: string | null | undefined;
  /** Inclusive lower bound on `ts`. */
  from?: number | Date | undefined;
  /** Exclusive upper bound on `ts`. */
  to?: number | Date | undefined;
}

export interface SpendQuery {
  groupBy: SpendGroupBy;
  from?: number | Date | undefined;
  to?: number | Date | undefined;
  /** Narrows the rows summed (e.g. one key's spend by model); `from`/`to` above win over theirs. */
  filters?: LedgerFilters | undefined;
}

/** One line of `GET /admin/spend`. `group` is null for rows without that attribute (no team, no end user). */
export interface SpendGroup {
  group: string | null;
  spend_usd: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
}

export interface SpendResult {
  /** Highest spend first; ties by group name, null last. */
  data: SpendGroup[];
}

export interface RequestQuery {
  filters?: LedgerFilters | undefined;
  /** Page size, 1..1000; default 50. */
  limit?: number | undefined;
  /** `nextCursor` of the previous page; absent for the first (newest) page. */
  cursor?: string | null | undefined;
}

export interface RequestPage {
  /** Newest first, by (ts, request_id). */
  data: LedgerEntry[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

export interface MigrationResult {
  /** Versions this call applied; empty when the schema was already current. */
  applied: number[];
}

export interface LedgerStore {
  /** Applies the numbered migrations not yet applied, in one transaction; safe to call from many processes. */
  migrate(): Promise<MigrationResult>;
  /**
   * Writes one batch in one transaction: all rows or none. Rows whose request_id is already stored are
   * skipped, so a journal replayed twice leaves one row each. Resolves to the number of rows new to the
   * store. Rejects with a TypeError, writing nothing, when a row is malformed.
   */
  insert(rows: readonly LedgerRow[]): Promise<number>;
  spend(query: SpendQuery): Promise<SpendResult>;
  /** The request log, newest first, with keyset pagination (stable while rows are being added). */
  requests(query: RequestQuery): Promise<RequestPage>;
  close(): Promise<void>;
}

/** A query the store cannot answer as asked (bad cursor, limit out of range): the admin API's 400. */
export class LedgerQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerQueryError';
  }
}
