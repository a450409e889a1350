/**
 * The gateway's ledger from `database`: embedded SQLite under `database.path`, PostgreSQL, or none.
 *
 * Each process needs a journal directory of its own (ledger-writer.ts), and replicas or test processes
 * may share one data directory: a process takes the first of `<path>/ledger-journal/<n>` that no live
 * process holds. A slot left by a process that died is taken over, and its journal replayed, by the next
 * process to start there.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { openLedger, type Ledger } from '../ledger/index.js';

const slots = 64;

export async function openGatewayLedger(config: Config): Promise<Ledger | undefined> {
  const { url, path } = config.database;
  if (url === 'none') return undefined;
  let lastError: unknown;
  for (let slot = 0; slot < slots; slot++) {
    try {
      return await openLedger(
        { url },
        { dataDirectory: path, journalDirectory: join(path, 'ledger-journal', String(slot)) },
      );
    } catch (error) {
      // Only a slot held by another live process (or by this one) is worth skipping.
      if (
        !(error instanceof Error) ||
        !/is (in use by process|already open in this process)/.test(error.message)
      )
        throw error;
      lastError = error;
    }
  }
  throw lastError;
}
