/**
 * The embedded ledger's writer thread. node:sqlite is synchronous, and a batch's transaction is not only
 * CPU (some 15 µs a row) but disk: every ~1,000 WAL pages SQLite checkpoints, which fsyncs the database
 * file, and on a busy disk that took tens of milliseconds. On the main thread each of those stalls every
 * request in flight (at 1,000 req/s the p99 was 33-47 ms with the database on disk, 10-25 ms on tmpfs;
 * docs/operations.md has the runs). Here they stall only this thread. The committing connection is the one that checkpoints, so the main
 * thread's connection, which only migrates and reads, never does.
 *
 * Protocol: the parent posts `{ id, rows }` (each row the values in `columns` order) and gets back
 * `{ id, inserted }` or `{ id, error }`, one answer per message, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inTransaction, insertSql, openSqlite } from './sqlite-connection.js';

export interface InsertWorkerData {
  path: string;
  busyTimeoutMs: number;
}

export interface InsertMessage {
  id: number;
  rows: (string | number | null)[][];
}

export type InsertAnswer = { id: number; inserted: number } | { id: number; error: string };

const port = parentPort;
if (port === null) throw new Error('sqlite-insert-worker runs as a worker thread');
const { path, busyTimeoutMs } = workerData as InsertWorkerData;
const db = openSqlite(path, busyTimeoutMs);
const insert = db.prepare(insertSql);

port.on('message', ({ id, rows }: InsertMessage) => {
  let answer: InsertAnswer;
  try {
    const inserted = inTransaction(db, () => {
      let count = 0;
      for (const values of rows) count += Number(insert.run(...values).changes);
      return count;
    });
    answer = { id, inserted };
  } catch (error) {
    answer = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
