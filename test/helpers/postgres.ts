/**
 * The machine's PostgreSQL for tests (127.0.0.1:5432, trust auth, database `test`;
 * SLUICE_TEST_POSTGRES_URL points elsewhere). Each suite works in a schema of its own and drops it.
 * Without a server the PostgreSQL cases are skipped locally and fail in CI (CI=true).
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

export const postgresUrl =
  process.env['SLUICE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

function postgresAnswers(): Promise<boolean> {
  const { hostname, port } = new URL(postgresUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 5432), hostname);
    socket.setTimeout(500);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

export const skipWithoutPostgres: string | false =
  (await postgresAnswers()) || process.env['CI'] === 'true' ? false : `no PostgreSQL at ${postgresUrl}`;

/** A fresh schema name with a prefix saying which suite made it. */
export function testSchema(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
