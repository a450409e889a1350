/** The messages between the gateway's thread (tracing/index.ts) and the export worker (export-worker.ts). */
export type ToWorker =
  /**
   * `json`: a SpanRecord[] as JSON (undefined fields left out); `epochOffsetMs`: Date.now() -
   * performance.now() on the sending thread, whose clock the records' times are on.
   */
  | { type: 'spans'; json: string; epochOffsetMs: number }
  | { type: 'flush'; id: number }
  | { type: 'shutdown'; id: number };

export type FromWorker =
  | { type: 'done'; id: number }
  | { type: 'log'; level: 'warn' | 'info'; fields: Record<string, unknown>; message: string };
