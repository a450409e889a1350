/**
 * The account store in PostgreSQL (`database.url: postgres://…`): a small pool of its own (admin writes
 * and one poll a second per replica), in the ledger's schema through `search_path`, as the ledger does.
 * A program (sql-accounts.ts) runs statement by statement on one client; a write inside BEGIN … COMMIT.
 */
import pg from 'pg';
import { pgTransaction } from '../ledger/pg-transaction.js';
import { numberPlaceholders } from '../ledger/queries.js';
import { SqlAccountStore, type Program, type Row, type SqlRunner } from './sql-accounts.js';

async function drive<T>(client: pg.ClientBase, program: Program<T>): Promise<T> {
  let step = program.next();
  while (step.done !== true) {
    const result = await client.query(numberPlaceholders(step.value.sql), step.value.params as unknown[]);
    step = program.next(result.rows as Row[]);
  }
  return step.value;
}

class PostgresRunner implements SqlRunner {
  constructor(private readonly pool: pg.Pool) {}

  async read<T>(program: Program<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await drive(client, program);
    } finally {
      client.release();
    }
  }

  write<T>(program: Program<T>): Promise<T> {
    return pgTransaction(this.pool, (client) => drive(client, program));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

export interface PostgresAccountOptions {
  url: string;
  /** Default `public`, as the ledger's. */
  schema?: string | undefined;
  onError?: ((error: Error) => void) | undefined;
}

export function openPostgresAccountStore(options: PostgresAccountOptions): SqlAccountStore {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new TypeError(`accounts: schema "${schema}" must be lower-case letters, digits and _`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 2,
    connectionTimeoutMillis: 5_000,
    query_timeout: 10_000,
    application_name: 'sluice-accounts',
    options: `-c search_path=${schema}`,
  });
  // Without a listener, a broken idle connection would be an uncaught error that ends the process.
  pool.on(
    'error',
    options.onError ?? ((error) => process.emitWarning(`accounts database: ${error.message}`)),
  );
  return new SqlAccountStore(new PostgresRunner(pool));
}
