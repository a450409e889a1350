/** The ledger's public surface; docs/ledger.md describes the schema, the writer and its guarantee. */
export type {
  LedgerEntry,
  LedgerFilters,
  LedgerRow,
  LedgerStore,
  MigrationResult,
  RequestPage,
  RequestQuery,
  SpendGroup,
  SpendGroupBy,
  SpendQuery,
  SpendResult,
} from './ledger.js';
export { LedgerQueryError } from './ledger.js';
export {
  LedgerWriter,
  type CloseResult,
  type LedgerWriterOptions,
  type LedgerWriterStats,
} from './ledger-writer.js';
export { SqliteLedger, type SqliteLedgerOptions } from './sqlite-ledger.js';
export {
  createLedgerStore,
  openLedger,
  type DatabaseSettings,
  type Ledger,
  type LedgerStoreOptions,
  type OpenLedgerOptions,
} from './create-ledger.js';
export { migrations } from './migrations.js';
// Types only: the class is loaded by createLedgerStore when a postgres:// URL asks for it.
export type { PostgresLedger, PostgresLedgerOptions } from './postgres-ledger.js';
