/**
 * The account store the config asks for. The admin API's keys and teams need both an admin key (who may
 * change them) and a database (where they last): with `database.url: none` or no `server.admin_key` the
 * gateway has only the keys and teams of its config file. The tables are the ledger's migrations', so
 * this store is opened after the ledger (server.ts).
 */
import type { Config } from '../config/schema.js';
import type { AccountStore } from './account-store.js';

export function accountsEnabled(config: Config): boolean {
  return config.server.admin_key !== undefined && config.database.url !== 'none';
}

export async function openAccountStore(config: Config): Promise<AccountStore | undefined> {
  if (!accountsEnabled(config)) return undefined;
  if (config.database.url === 'embedded') {
    const { openSqliteAccountStore } = await import('./sqlite-accounts.js');
    return openSqliteAccountStore(config.database.path);
  }
  const { openPostgresAccountStore } = await import('./postgres-accounts.js');
  return openPostgresAccountStore({ url: config.database.url });
}
