/**
 * Opens the ledger a config names (`database.url`): `embedded` is a SQLite file under the data directory,
 * `postgres://…` (or `postgresql://…`) a PostgreSQL database. Either way the schema is migrated before
 * anything is written, and a LedgerWriter with its journal in the data directory feeds the store.
 */
import { join } from 'node:path';
import type { LedgerStore } from './ledger.js';
import { LedgerWriter, type CloseResult, type LedgerWriterOptions } from './ledger-writer.js';
import { defaultDataDirectory, SqliteLedger } from './sqlite-ledger.js';

export interface DatabaseSettings {
  /** `embedded` or a `postgres://` URL: the config's `database.url`. */
  url: string;
}

export interface LedgerStoreOptions {
  /** Where the embedded database (`sluice.db`) and, by default, the journal live. Default `./data`. */
  dataDirectory?: string | undefined;
  /** PostgreSQL schema. Default `public`. */
  schema?: string | undefined;
  /** Broken idle PostgreSQL connections, failed batches, refused rows. Default: process warnings. */
  onError?: ((error: Error) => void) | undefined;
}

export interface OpenLedgerOptions extends LedgerStoreOptions {
  /** Default `<dataDirectory>/ledger-journal`; one per process. */
  journalDirectory?: string | undefined;
  /** Batching, retry and cap settings of the writer (defaults in LedgerWriterOptions). */
  writer?: Omit<LedgerWriterOptions, 'store' | 'journalDirectory' | 'onError'> | undefined;
}

export interface Ledger {
  /** For reads (spend, the request log); writes go through `writer`. */
  store: LedgerStore;
  writer: LedgerWriter;
  /** The SIGTERM path: flushes the writer (at most `timeoutMs`), then closes the store. */
  close(timeoutMs?: number): Promise<CloseResult>;
}

/** The store alone, not migrated: for tools that only read, or migrate on their own. */
export async function createLedgerStore(
  database: DatabaseSettings,
  options: LedgerStoreOptions = {},
): Promise<LedgerStore> {
  if (database.url === 'embedded') {
    return new SqliteLedger({ directory: options.dataDirectory ?? defaultDataDirectory });
  }
  if (/^postgres(ql)?:\/\//.test(database.url)) {
    // Loaded only when configured, as the Redis client is: an embedded deployment never loads `pg`.
    const { PostgresLedger } = await import('./postgres-ledger.js');
    return new PostgresLedger({ url: database.url, schema: options.schema, onError: options.onError });
  }
  throw new TypeError('database.url must be "embedded" or a postgres:// URL');
}

/**
 * Opens the store, migrates it and starts the writer, which replays what a previous process left in the
 * journal. Rejects when the database cannot be migrated (unreachable at start): the gateway should not
 * come up without its ledger.
 */
export async function openLedger(
  database: DatabaseSettings,
  options: OpenLedgerOptions = {},
): Promise<Ledger> {
  const store = await createLedgerStore(database, options);
  try {
    await store.migrate();
    const writer = LedgerWriter.open({
      ...options.writer,
      store,
      journalDirectory:
        options.journalDirectory ?? join(options.dataDirectory ?? defaultDataDirectory, 'ledger-journal'),
      onError: options.onError,
    });
    return {
      store,
      writer,
      async close(timeoutMs) {
        const result = await writer.close(timeoutMs);
        await store.close();
        return result;
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
