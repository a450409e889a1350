/**
 * LedgerWriter: batching off the hot path, retry without loss while the store fails, close() flushing,
 * the disk cap, and the durability promise: rows acknowledged by a process that is then SIGKILLed (its
 * database hung, so they were only in the journal) are all in the store, exactly once, after the next
 * writer replays the journal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs, { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  LedgerWriter,
  SqliteLedger,
  type LedgerEntry,
  type LedgerRow,
  type LedgerStore,
} from '../src/ledger/index.js';
import { normalizeRow } from '../src/ledger/rows.js';

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function tempDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-ledger-writer-'));
  directories.push(directory);
  return directory;
}

function row(i: number, overrides: Partial<LedgerRow> = {}): LedgerRow {
  return {
    request_id: `req-${i}`,
    ts: Date.UTC(2026, 0, 1) + i,
    key_name: 'key-a',
    team: 'team-red',
    end_user: null,
    model: 'gpt-4o',
    provider: 'openai',
    status: 200,
    input_tokens: 10,
    output_tokens: 20,
    cost_usd: 0.001,
    latency_ms: 100,
    attempts: 1,
    ...overrides,
  };
}

/** A store in memory that can be told to fail or to hang, and remembers every batch it was given. */
class FakeStore implements Pick<LedgerStore, 'insert'> {
  readonly rows = new Map<string, LedgerEntry>();
  readonly batches: number[] = [];
  readonly attempts: number[] = [];
  failures = 0;
  hang = false;

  async insert(rows: readonly LedgerRow[]): Promise<number> {
    this.attempts.push(Date.now());
    if (this.hang) return new Promise(() => {});
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connection refused');
    }
    this.batches.push(rows.length);
    let inserted = 0;
    for (const entry of rows.map(normalizeRow)) {
      if (this.rows.has(entry.request_id)) continue;
      this.rows.set(entry.request_id, entry);
      inserted++;
    }
    return inserted;
  }
}

function segments(directory: string): string[] {
  return readdirSync(directory).filter((name) => /^segment-\d+\.jsonl$/.test(name));
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Waits until `done()` holds (2 s at most): for what the journal's asynchronous writes make true. */
async function until(done: () => boolean): Promise<void> {
  const started = Date.now();
  while (!done()) {
    assert.ok(Date.now() - started < 2_000, 'in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('ledger writer', { timeout: 60_000 }, () => {
  test('record() touches neither the store nor the disk; the turn ends with one journal write, off the event loop', async () => {
    const store = new FakeStore();
    const directory = tempDirectory();
    const writer = LedgerWriter.open({ store, journalDirectory: directory, flushIntervalMs: 10_000 });
    const writes: number[] = [];
    const startedAt: number[] = [];
    const syncWrites: number[] = [];
    const realWrite = fs.write;
    const realWriteSync = fs.writeSync;
    // The journal imports write and writeSync by name: syncBuiltinESMExports makes the spies visible to it.
    fs.write = ((...args: unknown[]) => {
      writes.push(args[0] as number);
      startedAt.push(performance.now());
      return (realWrite as (...a: unknown[]) => void)(...args);
    }) as typeof fs.write;
    fs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
      syncWrites.push(args[0]);
      return realWriteSync(...args);
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
    try {
      for (let i = 0; i < 100; i++) assert.equal(writer.record(row(i)), true);
      assert.equal(store.attempts.length, 0);
      assert.equal(writes.length, 0, 'nothing written during the turn');
      assert.equal(writer.stats().acknowledged, 0);
      await nextTurn();
      assert.equal(writes.length, 1, 'one write for the whole turn');
      // Acknowledged once the write has returned, not when it was handed to the thread pool.
      await until(() => writer.stats().acknowledged === 100);
      const [segment] = segments(directory);
      assert.ok(segment);
      const lines = readFileSync(join(directory, segment), 'utf8').trim().split('\n');
      assert.equal(lines.length, 100);
      assert.deepEqual(JSON.parse(lines[0] as string), normalizeRow(row(0)));
      for (let i = 100; i < 110; i++) writer.record(row(i));
      await nextTurn();
      // The next turn's lines go in the next write, at once or once 2 ms have passed since the last one.
      await until(() => writer.stats().acknowledged === 110);
      assert.equal(writes.length, 2);
      // Writes start at least 2 ms apart: a row recorded as soon as the last write returned waits for
      // the gap (and the rows of turns that follow closely share a write).
      const from = writes.length;
      for (let i = 110; i < 130; i++) {
        writer.record(row(i));
        await until(() => writer.stats().acknowledged === i + 1);
      }
      const gaps = startedAt.slice(from).map((at, k) => at - (startedAt[from + k - 1] as number));
      assert.ok(Math.min(...gaps) >= 1.5, `writes ${gaps.map((g) => g.toFixed(2)).join(', ')} ms apart`);
      assert.deepEqual(syncWrites, [], 'no synchronous write on the way');
    } finally {
      fs.write = realWrite;
      fs.writeSync = realWriteSync;
      syncBuiltinESMExports();
      await writer.close();
    }
    assert.equal(store.rows.size, 130);
  });

  test('a journal write that fails loses its turn only: counted, reported, and the next rows go on in a new segment', async () => {
    const store = new FakeStore();
    const directory = tempDirectory();
    const errors: Error[] = [];
    const writer = LedgerWriter.open({
      store,
      journalDirectory: directory,
      flushIntervalMs: 60_000,
      onError: (error) => errors.push(error),
    });
    const realWrite = fs.write;
    let failNext = true;
    // The next write fails the way a full disk does, after the thread pool tried it.
    fs.write = ((...args: unknown[]) => {
      if (failNext) {
        failNext = false;
        const callback = args.at(-1) as (error: Error) => void;
        setImmediate(() => callback(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })));
        return;
      }
      return (realWrite as (...a: unknown[]) => void)(...args);
    }) as typeof fs.write;
    syncBuiltinESMExports();
    try {
      for (let i = 0; i < 10; i++) writer.record(row(i));
      await nextTurn();
      await until(() => writer.stats().dropped === 10);
      assert.match(errors[0]?.message ?? '', /journal write failed, 10 rows lost: no space left on device/);
      for (let i = 10; i < 20; i++) writer.record(row(i));
      await writer.flush();
      assert.deepEqual(
        [...store.rows.keys()].sort(),
        Array.from({ length: 10 }, (_, i) => `req-${10 + i}`).sort(),
      );
      assert.equal(writer.stats().acknowledged, 10);
      assert.equal(writer.stats().dropped, 10);
    } finally {
      fs.write = realWrite;
      syncBuiltinESMExports();
      await writer.close();
    }
  });

  test('a flush waiting on a failed write whose next segment cannot be opened returns rather than hangs', async () => {
    const store = new FakeStore();
    const errors: Error[] = [];
    const writer = LedgerWriter.open({
      store,
      journalDirectory: tempDirectory(),
      flushIntervalMs: 60_000,
      onError: (error) => errors.push(error),
    });
    const realWrite = fs.write;
    const realOpenSync = fs.openSync;
    let failWrite = true;
    let failOpen = false;
    // The first write fails on the thread pool; opening the segment for what comes next fails too.
    fs.write = ((...args: unknown[]) => {
      if (!failWrite) return (realWrite as (...a: unknown[]) => void)(...args);
      failWrite = false;
      const callback = args.at(-1) as (error: Error) => void;
      setImmediate(() => {
        failOpen = true;
        callback(Object.assign(new Error('input/output error'), { code: 'EIO' }));
      });
    }) as typeof fs.write;
    fs.openSync = ((...args: Parameters<typeof fs.openSync>) => {
      if (!failOpen) return realOpenSync(...args);
      failOpen = false;
      throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
    }) as typeof fs.openSync;
    syncBuiltinESMExports();
    try {
      for (let i = 0; i < 5; i++) writer.record(row(i));
      await nextTurn(); // the first write is out
      for (let i = 5; i < 10; i++) writer.record(row(i));
      // The seal waits for the write out and for the one after it, which never gets a segment.
      const outcome = await Promise.race([
        writer.flush().then(() => 'flushed'),
        sleep(2_000).then(() => 'hung'),
      ]);
      assert.equal(outcome, 'flushed');
      assert.equal(writer.stats().dropped, 10);
      assert.equal(errors.length, 2, errors.map((e) => e.message).join('; '));
      // The journal goes on: the next rows get a segment and reach the store.
      for (let i = 10; i < 15; i++) writer.record(row(i));
      await writer.flush();
      assert.deepEqual(
        [...store.rows.keys()].sort(),
        Array.from({ length: 5 }, (_, i) => `req-${10 + i}`).sort(),
      );
    } finally {
      fs.write = realWrite;
      fs.openSync = realOpenSync;
      syncBuiltinESMExports();
      await writer.close();
    }
  });

  test('a seal while a write is out waits for it: rows recorded meanwhile are neither lost nor committed twice', async () => {
    const store = new FakeStore();
    const writer = LedgerWriter.open({
      store,
      journalDirectory: tempDirectory(),
      flushIntervalMs: 1,
      maxBatchRows: 7,
    });
    try {
      // Rows in every turn, small batches and a 1 ms interval: seals keep coming while writes are out.
      for (let turn = 0; turn < 200; turn++) {
        for (let i = 0; i < 5; i++) writer.record(row(turn * 10 + i));
        await nextTurn();
      }
      await writer.flush();
      assert.equal(store.rows.size, 1_000);
      const inserted = store.batches.reduce((sum, size) => sum + size, 0);
      assert.equal(inserted, 1_000, 'no row inserted twice');
      assert.equal(writer.stats().acknowledged, 1_000);
      assert.equal(writer.stats().pendingSegments, 0);
    } finally {
      await writer.close();
    }
  });

  test('rows are batched: at most maxBatchRows a transaction, small batches on the interval', async () => {
    const store = new FakeStore();
    const writer = LedgerWriter.open({ store, journalDirectory: tempDirectory(), flushIntervalMs: 50 });
    try {
      for (let i = 0; i < 1_200; i++) writer.record(row(i));
      await writer.flush();
      assert.equal(store.rows.size, 1_200);
      assert.ok(
        store.batches.every((size) => size <= 500),
        `batches ${store.batches.join(',')}`,
      );
      assert.ok(store.batches.length <= 4, `few batches: ${store.batches.join(',')}`);
      // No flush() here: the interval alone carries a few rows to the store, in one batch.
      const before = store.batches.length;
      for (let i = 2_000; i < 2_003; i++) writer.record(row(i));
      const started = Date.now();
      // committed counts once the segment is also removed, a moment after the insert resolved.
      while (writer.stats().committed < 1_203) {
        assert.ok(Date.now() - started < 2_000, 'the interval flushed');
        await sleep(10);
      }
      assert.deepEqual(store.batches.slice(before), [3]);
      assert.equal(store.rows.size, 1_203);
    } finally {
      await writer.close();
    }
  });

  test('a full segment is flushed at once, without waiting for the interval', async () => {
    const store = new FakeStore();
    const writer = LedgerWriter.open({
      store,
      journalDirectory: tempDirectory(),
      flushIntervalMs: 60_000,
      maxBatchRows: 100,
    });
    try {
      for (let i = 0; i < 250; i++) writer.record(row(i));
      const started = Date.now();
      while (store.rows.size < 250) {
        assert.ok(Date.now() - started < 2_000, 'flushed on size');
        await sleep(5);
      }
      assert.deepEqual(store.batches, [100, 100, 50]);
    } finally {
      await writer.close();
    }
  });

  test('one batch at a time: an interval that seals a full turn starts one drain, not two', async () => {
    // Regression: the interval's seal wrote the turn, whose callback started a drain, and the interval
    // then started a second one over the same segment. Rows recorded in a timer callback that outlasts
    // the interval make the interval fire before the turn's own write.
    const store = new FakeStore();
    const writer = LedgerWriter.open({
      store,
      journalDirectory: tempDirectory(),
      flushIntervalMs: 5,
      maxBatchRows: 100,
    });
    try {
      for (let round = 0; round < 5; round++) {
        await new Promise<void>((resolve) =>
          setTimeout(() => {
            for (let i = 0; i < 250; i++) writer.record(row(round * 1_000 + i));
            const until = Date.now() + 15;
            while (Date.now() < until); // the interval falls due during this turn
            resolve();
          }, 1),
        );
      }
      await writer.flush();
      const inserted = store.batches.reduce((sum, size) => sum + size, 0);
      assert.equal(store.rows.size, 1_250);
      assert.equal(inserted, 1_250, 'no segment inserted twice');
    } finally {
      await writer.close();
    }
  });

  test('a failing store: the batch is kept and retried with backoff until it commits, nothing lost', async () => {
    const store = new FakeStore();
    store.failures = 4;
    const errors: Error[] = [];
    const writer = LedgerWriter.open({
      store,
      journalDirectory: tempDirectory(),
      flushIntervalMs: 10,
      retryInitialMs: 40,
      onError: (error) => errors.push(error),
    });
    try {
      for (let i = 0; i < 300; i++) writer.record(row(i));
      await nextTurn();
      for (let i = 300; i < 600; i++) writer.record(row(i));
      await writer.flush();
      assert.equal(store.rows.size, 600);
      assert.equal(writer.stats().committed, 600);
      assert.equal(writer.stats().failedBatches, 4);
      assert.equal(writer.stats().consecutiveFailures, 0);
      assert.equal(errors.length, 4);
      assert.match(errors[0]?.message ?? '', /kept for retry: connection refused/);
      // Equal jitter: the n-th wait is at least half of 40·2^(n-1) ms.
      const waits = store.attempts.slice(1, 5).map((at, i) => at - (store.attempts[i] as number));
      waits.forEach((wait, i) => assert.ok(wait >= 20 * 2 ** i - 5, `wait ${i}: ${wait} ms`));
      assert.equal(writer.stats().pendingSegments, 0);
    } finally {
      await writer.close();
    }
  });

  test('a segment this process wrote commits from memory; a recovered or over-the-bound one from its file', async () => {
    // Each segment's file is rewritten with other request ids before its batch: the ids that reach the
    // store tell which copy was committed.
    const rewrite = (directory: string, name: string, from: number): void => {
      const count = readFileSync(join(directory, name), 'utf8').trim().split('\n').length;
      const lines = Array.from({ length: count }, (_, i) => JSON.stringify(normalizeRow(row(from + i))));
      writeFileSync(join(directory, name), `${lines.join('\n')}\n`);
    };
    const ids = (store: FakeStore): number[] =>
      [...store.rows.keys()].map((id) => Number(id.slice(4))).sort((a, b) => a - b);

    for (const memoryRows of [2_000, 0]) {
      const store = new FakeStore();
      const directory = tempDirectory();
      const writer = LedgerWriter.open({
        store,
        journalDirectory: directory,
        flushIntervalMs: 60_000,
        memoryRows,
      });
      for (let i = 0; i < 10; i++) writer.record(row(i));
      // The journal's write returned (it is asynchronous): the file holds the rows before it is rewritten.
      await until(() => writer.stats().acknowledged === 10);
      rewrite(directory, segments(directory)[0] as string, 500);
      await writer.close();
      const expected = Array.from({ length: 10 }, (_, i) => (memoryRows === 0 ? 500 : 0) + i);
      assert.deepEqual(ids(store), expected, `memoryRows ${memoryRows}`);
    }

    // The store fails while two segments of 100 wait: the first fits the bound of 150 rows, the second
    // does not and is read from its file when the store is back.
    const store = new FakeStore();
    store.failures = 1_000;
    const directory = tempDirectory();
    const writer = LedgerWriter.open({
      store,
      journalDirectory: directory,
      flushIntervalMs: 5,
      maxBatchRows: 100,
      retryInitialMs: 20,
      retryMaxMs: 20,
      memoryRows: 150,
      onError: () => {},
    });
    try {
      for (let i = 0; i < 100; i++) writer.record(row(i));
      await until(() => writer.stats().pendingSegments === 1);
      for (let i = 100; i < 200; i++) writer.record(row(i));
      await until(() => writer.stats().pendingSegments === 2);
      const [first, second] = segments(directory).sort();
      assert.ok(
        first !== undefined && second !== undefined,
        `two segments: ${segments(directory).join(',')}`,
      );
      rewrite(directory, first, 1_000);
      rewrite(directory, second, 2_000);
      store.failures = 0;
      await writer.flush();
      const expected = [
        ...Array.from({ length: 100 }, (_, i) => i),
        ...Array.from({ length: 100 }, (_, i) => 2_000 + i),
      ];
      assert.deepEqual(ids(store), expected);
    } finally {
      await writer.close();
    }
  });

  test('close() flushes what was just recorded, then releases the journal', async () => {
    const store = new FakeStore();
    const directory = tempDirectory();
    const writer = LedgerWriter.open({ store, journalDirectory: directory, flushIntervalMs: 60_000 });
    for (let i = 0; i < 50; i++) writer.record(row(i));
    assert.deepEqual(await writer.close(), { pendingSegments: 0 });
    assert.equal(store.rows.size, 50);
    assert.deepEqual(readdirSync(directory), [], 'no segment, no lock left');
    assert.equal(writer.record(row(99)), false, 'a closed writer refuses rows');
    assert.equal(writer.stats().dropped, 1);
  });

  test('close() during an outage leaves the rows in the journal; the next writer commits them', async () => {
    const down = new FakeStore();
    down.failures = Infinity;
    const directory = tempDirectory();
    const first = LedgerWriter.open({ store: down, journalDirectory: directory, onError: () => {} });
    for (let i = 0; i < 700; i++) first.record(row(i));
    const result = await first.close(200);
    assert.ok(result.pendingSegments >= 1);
    assert.equal(down.rows.size, 0);
    const store = new FakeStore();
    const second = LedgerWriter.open({ store, journalDirectory: directory });
    try {
      await second.flush();
      assert.equal(store.rows.size, 700);
      assert.deepEqual(segments(directory), []);
    } finally {
      await second.close();
    }
  });

  test('past the disk cap new rows are refused and counted; acknowledged ones still commit', async () => {
    const store = new FakeStore();
    store.failures = Infinity;
    const errors: Error[] = [];
    const writer = LedgerWriter.open({
      store,
      journalDirectory: tempDirectory(),
      maxJournalBytes: 20_000,
      flushIntervalMs: 10,
      retryInitialMs: 10,
      retryMaxMs: 20,
      onError: (error) => errors.push(error),
    });
    try {
      let accepted = 0;
      for (let i = 0; i < 200; i++) if (writer.record(row(i))) accepted++;
      assert.ok(accepted > 10 && accepted < 200, `accepted ${accepted}`);
      assert.equal(writer.stats().dropped, 200 - accepted);
      assert.equal(errors.filter((error) => /refusing new rows/.test(error.message)).length, 1, 'said once');
      store.failures = 0;
      await writer.flush();
      assert.equal(store.rows.size, accepted);
      assert.equal(writer.record(row(1_000)), true, 'accepted again once the journal drained');
    } finally {
      await writer.close();
    }
  });

  test('a malformed row is refused at record() and never reaches the journal', async () => {
    const store = new FakeStore();
    const directory = tempDirectory();
    const writer = LedgerWriter.open({ store, journalDirectory: directory });
    try {
      assert.throws(() => writer.record(row(1, { cost_usd: Number.NaN })), TypeError);
      assert.throws(() => writer.record(row(2, { request_id: '' })), TypeError);
      assert.throws(() => writer.record({ ...row(3), status: undefined } as unknown as LedgerRow), TypeError);
      await nextTurn();
      assert.deepEqual(segments(directory), []);
      assert.equal(writer.stats().recorded, 0);
    } finally {
      await writer.close();
    }
  });

  test('one journal directory, one writer', async () => {
    const directory = tempDirectory();
    const writer = LedgerWriter.open({ store: new FakeStore(), journalDirectory: directory });
    assert.throws(
      () => LedgerWriter.open({ store: new FakeStore(), journalDirectory: directory }),
      /already open/,
    );
    await writer.close();
    const again = LedgerWriter.open({ store: new FakeStore(), journalDirectory: directory });
    await again.close();
    // A lock left by a live process of another pid is respected (pid 1 always exists).
    writeFileSync(join(directory, 'lock'), '1\n');
    assert.throws(
      () => LedgerWriter.open({ store: new FakeStore(), journalDirectory: directory }),
      /in use by process 1/,
    );
  });

  test('replay skips a torn last line and keeps a segment with corrupt lines as .corrupt', async () => {
    const directory = tempDirectory();
    const line = (i: number) => `${JSON.stringify(normalizeRow(row(i)))}\n`;
    writeFileSync(join(directory, 'segment-000000000001.jsonl'), line(1) + line(2) + line(3).slice(0, 40));
    writeFileSync(join(directory, 'segment-000000000002.jsonl'), line(4) + '{"not":"a row"}\n' + line(5));
    const store = new FakeStore();
    const writer = LedgerWriter.open({ store, journalDirectory: directory, onError: () => {} });
    try {
      await writer.flush();
      assert.deepEqual([...store.rows.keys()].sort(), ['req-1', 'req-2', 'req-4', 'req-5']);
      assert.equal(writer.stats().unreadable, 2);
      assert.deepEqual(readdirSync(directory).sort(), ['lock', 'segment-000000000002.jsonl.corrupt']);
      // New segments continue the numbering, never reusing a replayed name.
      writer.record(row(6));
      await nextTurn();
      assert.deepEqual(segments(directory), ['segment-000000000003.jsonl']);
    } finally {
      await writer.close();
    }
  });
});

/**
 * A child process that opens the embedded store in `directory` and records `count` rows over several
 * turns. Its database, in `hang` mode: commits and answers the first batch; commits the second but fails
 * (a connection lost after COMMIT: the writer must retry it, and the store must not count it twice);
 * fails the third without committing; hangs from the fourth on. It prints "acknowledged" once every row
 * is journaled and the database hangs, then waits to be killed. In `slow` mode each batch takes 100 ms.
 * Imports the compiled modules next to this compiled test.
 */
function childScript(mode: 'hang' | 'slow'): string {
  const ledger = pathToFileURL(join(import.meta.dirname, '../src/ledger/index.js')).href;
  return `
    import { LedgerWriter, SqliteLedger } from ${JSON.stringify(ledger)};
    const [directory, count] = [process.argv[1], Number(process.argv[2])];
    const mode = ${JSON.stringify(mode)};
    const sqlite = new SqliteLedger({ directory });
    await sqlite.migrate();
    let calls = 0;
    const store = {
      async insert(rows) {
        calls++;
        if (mode === 'slow') {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return sqlite.insert(rows);
        }
        if (calls === 1) return sqlite.insert(rows);
        if (calls === 2) {
          await sqlite.insert(rows);
          throw new Error('connection lost after COMMIT');
        }
        if (calls === 3) throw new Error('connection refused');
        return new Promise(() => {});
      },
    };
    const writer = LedgerWriter.open({
      store,
      journalDirectory: directory + '/journal',
      flushIntervalMs: 20,
      maxBatchRows: 100,
      retryInitialMs: 10,
      onError: () => {},
    });
    process.on('SIGTERM', async () => {
      await writer.close();
      await sqlite.close();
      process.exit(0);
    });
    for (let i = 0; i < count; i++) {
      writer.record({
        request_id: 'crash-' + i, ts: 1767225600000 + i, key_name: 'key-a', team: null, end_user: 'user-' + (i % 7),
        model: 'gpt-4o', provider: 'openai', status: 200, input_tokens: 5, output_tokens: 7,
        cost_usd: 0.25, latency_ms: 80, attempts: 1,
      });
      // A turn ends every 37 rows, as requests finishing on different turns would.
      if (i % 37 === 36) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await new Promise((resolve) => setImmediate(resolve));
    while (mode === 'hang' && calls < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    process.stdout.write('acknowledged ' + JSON.stringify(writer.stats()) + '\\n');
    setInterval(() => {}, 1000);
  `;
}

/** Runs the child until it says "acknowledged", then sends `signal`; resolves with its exit. */
function runChild(
  mode: 'hang' | 'slow',
  directory: string,
  count: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stats: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '--no-warnings', '-e', childScript(mode), directory, String(count)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let stats: Record<string, number> = {};
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /acknowledged (.*)\n/.exec(stdout);
      if (match !== null && Object.keys(stats).length === 0) {
        stats = JSON.parse(match[1] as string) as Record<string, number>;
        child.kill(signal);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, exitSignal) => {
      if (Object.keys(stats).length === 0) reject(new Error(`child exited early (${code}): ${stderr}`));
      else resolve({ code, signal: exitSignal, stats });
    });
  });
}

async function countRows(directory: string): Promise<{ rows: number; ids: Set<string> }> {
  const store = new SqliteLedger({ directory });
  try {
    await store.migrate();
    const ids = new Set<string>();
    let cursor: string | null = null;
    let rows = 0;
    do {
      const page = await store.requests({ limit: 1_000, cursor });
      for (const entry of page.data) ids.add(entry.request_id);
      rows += page.data.length;
      cursor = page.nextCursor;
    } while (cursor !== null);
    return { rows, ids };
  } finally {
    await store.close();
  }
}

describe('ledger writer: crash and shutdown', { timeout: 60_000 }, () => {
  test('SIGKILL with the database hung: every acknowledged row is in the store exactly once after replay', async () => {
    const directory = tempDirectory();
    const count = 1_000;
    const exit = await runChild('hang', directory, count, 'SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(exit.stats['acknowledged'], count);
    const before = await countRows(directory);
    // The first batch committed and was answered; the second committed, its answer lost: it is replayed
    // from the journal with the rest, which exist only there.
    assert.ok(before.rows >= 100 && before.rows < count, `rows before replay: ${before.rows}`);
    assert.ok(segments(join(directory, 'journal')).length > 0);

    const store = new SqliteLedger({ directory });
    await store.migrate();
    const writer = LedgerWriter.open({ store, journalDirectory: join(directory, 'journal') });
    await writer.flush();
    await writer.close();
    await store.close();

    const afterReplay = await countRows(directory);
    assert.equal(afterReplay.rows, count, 'exactly once: none lost, none twice');
    for (let i = 0; i < count; i++) assert.ok(afterReplay.ids.has(`crash-${i}`), `crash-${i}`);
    assert.deepEqual(segments(join(directory, 'journal')), []);
    const spend = new SqliteLedger({ directory });
    try {
      const byUser = await spend.spend({ groupBy: 'end_user' });
      assert.equal(
        byUser.data.reduce((sum, line) => sum + line.requests, 0),
        count,
      );
      assert.equal(
        byUser.data.reduce((sum, line) => sum + line.spend_usd, 0),
        count * 0.25,
      );
    } finally {
      await spend.close();
    }
  });

  test('an uncaught exception in the turn that recorded rows: the exit listener still journals them', async () => {
    const directory = tempDirectory();
    const ledger = pathToFileURL(join(import.meta.dirname, '../src/ledger/index.js')).href;
    const script = `
      import { LedgerWriter } from ${JSON.stringify(ledger)};
      const writer = LedgerWriter.open({ store: { insert: () => new Promise(() => {}) }, journalDirectory: process.argv[1] });
      for (let i = 0; i < 25; i++) {
        writer.record({ request_id: 'boom-' + i, ts: 1767225600000, key_name: 'k', model: 'm', status: 200,
          input_tokens: 1, output_tokens: 1, cost_usd: 0.5, latency_ms: 1, attempts: 1 });
      }
      throw new Error('boom');
    `;
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, directory], {
        stdio: 'ignore',
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    assert.equal(code, 1);
    const store = new FakeStore();
    const writer = LedgerWriter.open({ store, journalDirectory: directory });
    try {
      await writer.flush();
      assert.equal(store.rows.size, 25);
    } finally {
      await writer.close();
    }
  });

  test('SIGTERM with a slow database: close() commits every row before the process exits', async () => {
    const directory = tempDirectory();
    const count = 600;
    const exit = await runChild('slow', directory, count, 'SIGTERM');
    assert.equal(exit.code, 0);
    const stored = await countRows(directory);
    assert.equal(stored.rows, count);
    assert.deepEqual(readdirSync(join(directory, 'journal')), [], 'journal empty, lock released');
  });
});
