/**
 * One contract for every ledger backend (after undici's cache-store tests): the same cases run against
 * the embedded SQLite store (a temporary directory per case) and against a real PostgreSQL (a schema of
 * its own per case, dropped afterwards). Without a PostgreSQL at 127.0.0.1:5432 the PostgreSQL half is
 * skipped locally and fails in CI (CI=true). SLUICE_TEST_POSTGRES_URL points it elsewhere.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  LedgerQueryError,
  migrations,
  SqliteLedger,
  type LedgerEntry,
  type LedgerFilters,
  type LedgerRow,
  type LedgerStore,
  type SpendGroupBy,
} from '../src/ledger/index.js';
import { PostgresLedger } from '../src/ledger/postgres-ledger.js';
import { normalizeRow } from '../src/ledger/rows.js';
import { dropSchema, postgresUrl, skipWithoutPostgres, testSchema } from './helpers/postgres.js';

/** One empty database of a backend; `open()` gives a new store (a new connection) on the same data. */
interface Backend {
  open(): Promise<LedgerStore>;
  destroy(): Promise<void>;
}

type MakeBackend = () => Promise<Backend>;

const sqliteBackend: MakeBackend = async () => {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-ledger-'));
  return {
    open: async () => new SqliteLedger({ directory }),
    destroy: async () => rmSync(directory, { recursive: true, force: true }),
  };
};

const postgresBackend: MakeBackend = async () => {
  const schema = testSchema('ledger_test');
  return {
    open: async () => new PostgresLedger({ url: postgresUrl, schema }),
    destroy: () => dropSchema(schema),
  };
};

const t0 = Date.UTC(2026, 0, 1);
const minute = 60_000;

function row(overrides: Partial<LedgerRow> & { request_id: string }): LedgerRow {
  return {
    ts: t0,
    key_name: 'key-a',
    team: null,
    end_user: null,
    model: 'gpt-4o',
    provider: 'openai',
    target_model: 'gpt-4o-2024-08-06',
    status: 200,
    input_tokens: 10,
    output_tokens: 20,
    cached_input_tokens: 0,
    cost_usd: 0.001,
    latency_ms: 120,
    ttft_ms: null,
    trace_id: null,
    error_kind: null,
    attempts: 1,
    ...overrides,
  };
}

/** A varied day of traffic: 4 keys, 2 teams and none, 3 models, 5 end users and none, errors, 2 hours. */
function dataset(count = 120): LedgerRow[] {
  const keys = ['key-a', 'key-b', 'key-c', 'key-d'];
  const teams = ['team-red', 'team-blue', null];
  const models = ['gpt-4o', 'claude-sonnet', 'mistral-large'];
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', null];
  return Array.from({ length: count }, (_, i) =>
    row({
      request_id: `req-${String(i).padStart(5, '0')}`,
      ts: t0 + i * minute,
      key_name: keys[i % keys.length] as string,
      team: teams[i % teams.length] ?? null,
      model: models[i % models.length] as string,
      end_user: users[i % users.length] ?? null,
      status: i % 10 === 0 ? 429 : 200,
      error_kind: i % 10 === 0 ? 'upstream_rate_limited' : null,
      input_tokens: 100 + i,
      output_tokens: 2 * i,
      cost_usd: (i % 7) * 0.0013 + 0.0001,
      trace_id: `trace-${i % 40}`,
    }),
  );
}

const groupField: Record<SpendGroupBy, keyof LedgerEntry> = {
  key: 'key_name',
  team: 'team',
  model: 'model',
  end_user: 'end_user',
};

/** What spend() must return, computed here from the rows. */
function expectedSpend(rows: readonly LedgerRow[], groupBy: SpendGroupBy, from = -Infinity, to = Infinity) {
  const groups = new Map<
    string | null,
    { spend_usd: number; requests: number; input: number; output: number }
  >();
  for (const entry of rows.map(normalizeRow)) {
    if (entry.ts < from || entry.ts >= to) continue;
    const group = entry[groupField[groupBy]] as string | null;
    const total = groups.get(group) ?? { spend_usd: 0, requests: 0, input: 0, output: 0 };
    total.spend_usd += entry.cost_usd;
    total.requests++;
    total.input += entry.input_tokens;
    total.output += entry.output_tokens;
    groups.set(group, total);
  }
  return groups;
}

function assertSpend(
  actual: {
    group: string | null;
    spend_usd: number;
    requests: number;
    input_tokens: number;
    output_tokens: number;
  }[],
  expected: ReturnType<typeof expectedSpend>,
): void {
  assert.deepEqual(new Set(actual.map((line) => line.group)), new Set(expected.keys()));
  for (const line of actual) {
    const want = expected.get(line.group);
    assert.ok(want, `unexpected group ${line.group}`);
    assert.equal(line.requests, want.requests, `requests of ${line.group}`);
    assert.equal(line.input_tokens, want.input, `input_tokens of ${line.group}`);
    assert.equal(line.output_tokens, want.output, `output_tokens of ${line.group}`);
    // Summation order differs between databases: equal to the last few ulps, not bit for bit.
    assert.ok(Math.abs(line.spend_usd - want.spend_usd) < 1e-9, `spend_usd of ${line.group}`);
  }
  for (let i = 1; i < actual.length; i++) {
    assert.ok((actual[i - 1]?.spend_usd ?? 0) >= (actual[i]?.spend_usd ?? 0), 'highest spend first');
  }
}

/** Newest first by (ts, request_id), as the request log promises. */
function newestFirst(entries: readonly LedgerEntry[]): LedgerEntry[] {
  return [...entries].sort((a, b) =>
    a.ts !== b.ts ? b.ts - a.ts : a.request_id < b.request_id ? 1 : a.request_id > b.request_id ? -1 : 0,
  );
}

async function allPages(store: LedgerStore, filters: LedgerFilters, limit: number): Promise<LedgerEntry[][]> {
  const pages: LedgerEntry[][] = [];
  let cursor: string | null = null;
  do {
    const page = await store.requests({ filters, limit, cursor });
    pages.push(page.data);
    cursor = page.nextCursor;
    assert.ok(pages.length < 1_000, 'pagination ends');
  } while (cursor !== null);
  return pages;
}

function runContractSuite(name: string, makeBackend: MakeBackend, skip: string | false = false): void {
  /** A migrated store on a fresh database, destroyed afterwards. */
  async function withStore(work: (store: LedgerStore, backend: Backend) => Promise<void>): Promise<void> {
    const backend = await makeBackend();
    const store = await backend.open();
    try {
      await store.migrate();
      await work(store, backend);
    } finally {
      await store.close();
      await backend.destroy();
    }
  }

  describe(`ledger store contract: ${name}`, { skip, timeout: 60_000 }, () => {
    test('migrate applies every migration once, then nothing', async () => {
      const backend = await makeBackend();
      const store = await backend.open();
      const again = await backend.open();
      try {
        assert.deepEqual(await store.migrate(), {
          applied: migrations.map((migration) => migration.version),
        });
        assert.deepEqual(await store.migrate(), { applied: [] });
        assert.deepEqual(await again.migrate(), { applied: [] }, 'another connection sees them applied');
      } finally {
        await store.close();
        await again.close();
        await backend.destroy();
      }
    });

    test('stores migrating at the same moment apply each version exactly once', async () => {
      const backend = await makeBackend();
      const stores = await Promise.all([backend.open(), backend.open(), backend.open()]);
      try {
        const results = await Promise.all(stores.map((store) => store.migrate()));
        const applied = results.flatMap((result) => result.applied).sort((a, b) => a - b);
        assert.deepEqual(
          applied,
          migrations.map((migration) => migration.version),
        );
        assert.equal(await stores[0]?.insert([row({ request_id: 'after-migrate' })]), 1);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
        await backend.destroy();
      }
    });

    test('a row reads back with every field, ts in epoch ms', async () => {
      await withStore(async (store) => {
        const full = row({
          request_id: 'full',
          ts: new Date(t0 + 1_234),
          team: 'team-red',
          end_user: 'user-1',
          status: 502,
          input_tokens: 1_000_000_000_000,
          output_tokens: 7,
          cached_input_tokens: 3,
          cost_usd: 12.345678901234,
          latency_ms: 987,
          ttft_ms: 55,
          trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
          error_kind: 'upstream_error',
          attempts: 3,
        });
        const sparse: LedgerRow = {
          request_id: 'sparse',
          ts: t0,
          key_name: 'key-b',
          model: 'gpt-4o',
          status: 401,
          input_tokens: 0,
          output_tokens: 0,
          cost_usd: 0,
          latency_ms: 1,
          attempts: 0,
        };
        assert.equal(await store.insert([full, sparse]), 2);
        const page = await store.requests({});
        assert.deepEqual(page.data, [normalizeRow(full), normalizeRow(sparse)]);
        assert.equal(page.data[0]?.ts, t0 + 1_234);
        assert.equal(page.data[1]?.provider, null);
        assert.equal(page.data[1]?.cached_input_tokens, 0);
        assert.equal(page.nextCursor, null);
      });
    });

    test('insert is idempotent on request_id: a row written twice stays one row, the first write wins', async () => {
      await withStore(async (store) => {
        const first = row({ request_id: 'dup', cost_usd: 0.5 });
        assert.equal(await store.insert([first, first, row({ request_id: 'other' })]), 2);
        assert.equal(await store.insert([row({ request_id: 'dup', cost_usd: 99 })]), 0);
        assert.equal(await store.insert([first, row({ request_id: 'new' })]), 1);
        const page = await store.requests({});
        assert.equal(page.data.length, 3);
        assert.equal(page.data.find((entry) => entry.request_id === 'dup')?.cost_usd, 0.5);
        const spend = await store.spend({ groupBy: 'key' });
        assert.equal(spend.data[0]?.requests, 3);
      });
    });

    test('a batch is one transaction: a malformed row fails it whole', async () => {
      await withStore(async (store) => {
        const bad = row({ request_id: 'bad', input_tokens: Number.NaN });
        await assert.rejects(store.insert([row({ request_id: 'good' }), bad]), TypeError);
        assert.deepEqual((await store.requests({})).data, []);
      });
    });

    test('a batch larger than one statement commits whole', async () => {
      await withStore(async (store) => {
        const rows = Array.from({ length: 2_500 }, (_, i) => row({ request_id: `bulk-${i}`, ts: t0 + i }));
        assert.equal(await store.insert(rows), 2_500);
        assert.equal(await store.insert(rows.slice(0, 1_200)), 0);
        const spend = await store.spend({ groupBy: 'model' });
        assert.equal(spend.data[0]?.requests, 2_500);
      });
    });

    test('an empty ledger has no spend and no requests', async () => {
      await withStore(async (store) => {
        assert.equal(await store.insert([]), 0);
        assert.deepEqual(await store.spend({ groupBy: 'team' }), { data: [] });
        assert.deepEqual(await store.requests({}), { data: [], nextCursor: null });
      });
    });

    for (const groupBy of ['key', 'team', 'model', 'end_user'] as const) {
      test(`spend groups by ${groupBy}, over the whole ledger and over a time range`, async () => {
        await withStore(async (store) => {
          const rows = dataset();
          await store.insert(rows);
          assertSpend((await store.spend({ groupBy })).data, expectedSpend(rows, groupBy));
          // from inclusive, to exclusive: [t0 + 30 min, t0 + 75 min) holds rows 30..74.
          const from = t0 + 30 * minute;
          const to = new Date(t0 + 75 * minute);
          const ranged = await store.spend({ groupBy, from: new Date(from), to });
          assertSpend(ranged.data, expectedSpend(rows, groupBy, from, to.getTime()));
          assert.equal(
            ranged.data.reduce((sum, line) => sum + line.requests, 0),
            45,
          );
        });
      });
    }

    test('spend: NULL groups are their own line, last among equals; open-ended ranges', async () => {
      await withStore(async (store) => {
        await store.insert([
          row({ request_id: 'a', team: 'team-red', cost_usd: 1 }),
          row({ request_id: 'b', team: null, cost_usd: 1 }),
          row({ request_id: 'c', team: 'team-blue', cost_usd: 1 }),
          row({ request_id: 'd', team: 'team-blue', cost_usd: 2, ts: t0 + minute }),
        ]);
        const all = await store.spend({ groupBy: 'team' });
        assert.deepEqual(
          all.data.map((line) => [line.group, line.spend_usd]),
          [
            ['team-blue', 3],
            ['team-red', 1],
            [null, 1],
          ],
        );
        const later = await store.spend({ groupBy: 'team', from: t0 + 1 });
        assert.deepEqual(
          later.data.map((line) => line.group),
          ['team-blue'],
        );
        const earlier = await store.spend({ groupBy: 'team', to: t0 + minute });
        assert.equal(earlier.data.find((line) => line.group === 'team-blue')?.spend_usd, 1);
        const empty = await store.spend({ groupBy: 'team', from: t0 + 10 * minute });
        assert.deepEqual(empty.data, []);
      });
    });

    test('spend narrows by filters (one key by model, failed requests)', async () => {
      await withStore(async (store) => {
        const rows = dataset();
        await store.insert(rows);
        const keyB = rows.filter((r) => r.key_name === 'key-b');
        assertSpend(
          (await store.spend({ groupBy: 'model', filters: { key: 'key-b' } })).data,
          expectedSpend(keyB, 'model'),
        );
        const failed = rows.filter((r) => r.status === 429);
        assertSpend(
          (await store.spend({ groupBy: 'key', filters: { status: 429 } })).data,
          expectedSpend(failed, 'key'),
        );
      });
    });

    test('requests filters by trace_id, model, status, team, key, end_user and time range', async () => {
      await withStore(async (store) => {
        const rows = dataset();
        await store.insert(rows);
        const entries = rows.map(normalizeRow);
        const cases: [LedgerFilters, (entry: LedgerEntry) => boolean][] = [
          [{ trace_id: 'trace-7' }, (e) => e.trace_id === 'trace-7'],
          [{ model: 'claude-sonnet' }, (e) => e.model === 'claude-sonnet'],
          [{ status: 429 }, (e) => e.status === 429],
          [{ team: 'team-blue' }, (e) => e.team === 'team-blue'],
          [{ team: null }, (e) => e.team === null],
          [{ key: 'key-c' }, (e) => e.key_name === 'key-c'],
          [{ end_user: 'carol' }, (e) => e.end_user === 'carol'],
          [{ end_user: null }, (e) => e.end_user === null],
          [
            { from: t0 + 10 * minute, to: new Date(t0 + 20 * minute) },
            (e) => e.ts >= t0 + 10 * minute && e.ts < t0 + 20 * minute,
          ],
          [
            { key: 'key-a', model: 'gpt-4o', status: 200, from: t0 + 50 * minute },
            (e) =>
              e.key_name === 'key-a' && e.model === 'gpt-4o' && e.status === 200 && e.ts >= t0 + 50 * minute,
          ],
          [{ model: 'no-such-model' }, () => false],
        ];
        for (const [filters, keep] of cases) {
          const page = await store.requests({ filters, limit: 1_000 });
          assert.deepEqual(page.data, newestFirst(entries.filter(keep)), JSON.stringify(filters));
          assert.equal(page.nextCursor, null);
        }
      });
    });

    test('pagination walks every row once, newest first, also among rows of the same ms', async () => {
      await withStore(async (store) => {
        // Three rows per millisecond, inserted out of order: the cursor must break ts ties by request_id.
        const rows = Array.from({ length: 137 }, (_, i) =>
          row({ request_id: `page-${String((i * 53) % 137).padStart(3, '0')}`, ts: t0 + Math.floor(i / 3) }),
        );
        await store.insert(rows);
        const expected = newestFirst(rows.map(normalizeRow));
        for (const limit of [1, 10, 136, 137, 500]) {
          const pages = await allPages(store, {}, limit);
          assert.equal(pages.length, Math.max(1, Math.ceil(137 / limit)), `pages of ${limit}`);
          for (const page of pages.slice(0, -1)) assert.equal(page.length, limit);
          assert.deepEqual(pages.flat(), expected, `pages of ${limit}: no duplicates, no gaps, in order`);
        }
      });
    });

    test('pagination with filters and a time range', async () => {
      await withStore(async (store) => {
        const rows = dataset();
        await store.insert(rows);
        const filters = { team: 'team-red', from: t0 + 5 * minute, to: t0 + 100 * minute };
        const expected = newestFirst(
          rows
            .map(normalizeRow)
            .filter((e) => e.team === 'team-red' && e.ts >= t0 + 5 * minute && e.ts < t0 + 100 * minute),
        );
        assert.ok(expected.length > 20);
        assert.deepEqual((await allPages(store, filters, 7)).flat(), expected);
      });
    });

    test('pages stay stable while new rows arrive: no duplicates, no gaps in what was there', async () => {
      await withStore(async (store) => {
        const rows = dataset(60);
        await store.insert(rows);
        const seen: LedgerEntry[] = [];
        let page = await store.requests({ limit: 8 });
        let added = 0;
        while (true) {
          seen.push(...page.data);
          // Newer traffic lands between pages, as it does while someone reads the log.
          await store.insert([row({ request_id: `late-${added}`, ts: t0 + 1_000 * minute + added })]);
          added++;
          if (page.nextCursor === null) break;
          page = await store.requests({ limit: 8, cursor: page.nextCursor });
        }
        assert.deepEqual(seen, newestFirst(rows.map(normalizeRow)));
      });
    });

    test('a bad cursor or limit is a LedgerQueryError', async () => {
      await withStore(async (store) => {
        const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        for (const cursor of ['not-a-cursor', encode([1]), encode(['x', 'y']), encode([1.5, 'y'])]) {
          await assert.rejects(store.requests({ cursor }), LedgerQueryError, cursor);
        }
        for (const limit of [0, -1, 1.5, 1_001]) {
          await assert.rejects(store.requests({ limit }), LedgerQueryError, String(limit));
        }
        await assert.rejects(store.spend({ groupBy: 'provider' as SpendGroupBy }), LedgerQueryError);
      });
    });

    test('committed rows are there for the next connection (after close)', async () => {
      const backend = await makeBackend();
      try {
        const first = await backend.open();
        await first.migrate();
        await first.insert(dataset(10));
        await first.close();
        const second = await backend.open();
        try {
          assert.deepEqual(await second.migrate(), { applied: [] });
          assert.equal((await second.requests({ limit: 100 })).data.length, 10);
        } finally {
          await second.close();
        }
      } finally {
        await backend.destroy();
      }
    });
  });
}

runContractSuite('sqlite (embedded)', sqliteBackend);
runContractSuite('postgresql', postgresBackend, skipWithoutPostgres);
