/**
 * Gets ledger rows from the request path into the store without the request path waiting for a database.
 *
 * `record(row)` is synchronous and cheap: it checks the row, turns it into a JSON line and hands it to the
 * journal, which writes the lines of the whole event-loop turn with one system call at the end of the
 * turn. A row is *acknowledged* once that write has returned: it is in the journal file (the OS page
 * cache; also on the disk itself with `fsync: true`), and a crash of the process can no longer lose it.
 *
 * A background loop turns the journal into batches: every `flushIntervalMs`, or as soon as the active
 * segment holds `maxBatchRows` rows, the segment is sealed, read back and inserted in one transaction, and
 * its file removed once the insert has committed. When the store fails, the segment stays queued and is
 * retried with exponential backoff (jitter, capped at `retryMaxMs`), for as long as it takes: a row is
 * never dropped because the database is down. Sealed segments wait on disk, not in memory, so an outage
 * costs disk, not heap: memory holds at most the current turn's lines and the one batch being inserted.
 *
 * The bound is disk: when the journal would exceed `maxJournalBytes`, `record()` refuses new rows (returns
 * false, counts them in `stats().dropped`, reports once per episode to `onError`) until batches commit
 * again. The rows already acknowledged are untouched; refusing the newest is the only choice that keeps
 * the promise made to the older ones.
 *
 * `close()`, the SIGTERM path, writes the journal, flushes every segment and then releases the journal.
 * If the store is still failing when its deadline passes, the segments stay on disk and the next start
 * replays them: acknowledged rows survive a shutdown during an outage as well.
 */
import type { LedgerRow, LedgerStore } from './ledger.js';
import { Journal, type JournalSegment } from './journal.js';
import { normalizeRow } from './rows.js';

export interface LedgerWriterOptions {
  /** Only `insert` is used; the writer does not close the store. */
  store: Pick<LedgerStore, 'insert'>;
  /** The journal's directory, one per process (e.g. `./data/ledger-journal`). */
  journalDirectory: string;
  /** Default 200 ms. */
  flushIntervalMs?: number | undefined;
  /** Rows per transaction, and the segment size that triggers a flush before the interval. Default 500. */
  maxBatchRows?: number | undefined;
  /** Disk cap of the journal; beyond it new rows are refused. Default 1 GiB (some 2.5 million rows). */
  maxJournalBytes?: number | undefined;
  /** First retry delay after a failed batch, doubled per failure. Default 250 ms. */
  retryInitialMs?: number | undefined;
  /** Longest retry delay. Default 30 s. */
  retryMaxMs?: number | undefined;
  /** fdatasync each turn's write, so acknowledged rows survive power loss too. Default false. */
  fsync?: boolean | undefined;
  /** Rows of waiting batches kept in memory as well as in the journal (the rest are read back). Default 2,000. */
  memoryRows?: number | undefined;
  /** Failed batches (each failure), refused rows (once per episode), journal write failures. */
  onError?: ((error: Error) => void) | undefined;
}

export interface LedgerWriterStats {
  /** Rows accepted by record(). */
  recorded: number;
  /** Rows whose journal write has returned. */
  acknowledged: number;
  /** Rows whose batch committed and left the journal (replayed rows and skipped duplicates included). */
  committed: number;
  /** Rows refused by record() (journal full, writer closed) or lost with a failed journal write. */
  dropped: number;
  /** Lines found unreadable in the journal: cut-short last lines after a crash, and corrupt ones. */
  unreadable: number;
  /** Batches that failed and will be retried. */
  failedBatches: number;
  /** Failures since the last successful batch (0 while the store is healthy). */
  consecutiveFailures: number;
  /** Sealed segments waiting for the store, and journal bytes on disk. */
  pendingSegments: number;
  journalBytes: number;
}

export interface CloseResult {
  /** Segments left on disk because the store still failed at the deadline; replayed at the next start. */
  pendingSegments: number;
}

export class LedgerWriter {
  private readonly store: Pick<LedgerStore, 'insert'>;
  private readonly journal: Journal;
  private readonly maxBatchRows: number;
  private readonly maxJournalBytes: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly onError: (error: Error) => void;
  private readonly timer: NodeJS.Timeout;
  private readonly onExit = (): void => this.journal.writeTurn();
  private readonly counts = {
    recorded: 0,
    acknowledged: 0,
    committed: 0,
    dropped: 0,
    unreadable: 0,
    failedBatches: 0,
    consecutiveFailures: 0,
  };
  private draining: Promise<void> | undefined;
  private retryAt = 0;
  private refusing = false;
  private closed = false;

  private constructor(options: LedgerWriterOptions) {
    this.store = options.store;
    this.maxBatchRows = positive('maxBatchRows', options.maxBatchRows ?? 500);
    this.maxJournalBytes = positive('maxJournalBytes', options.maxJournalBytes ?? 1024 ** 3);
    this.retryInitialMs = positive('retryInitialMs', options.retryInitialMs ?? 250);
    this.retryMaxMs = positive('retryMaxMs', options.retryMaxMs ?? 30_000);
    const onError = options.onError ?? ((error: Error) => process.emitWarning(`ledger: ${error.message}`));
    // A throwing handler must not break the loop (or surface as an unhandled rejection from it).
    this.onError = (error) => {
      try {
        onError(error);
      } catch {
        // the report is lost, the row is not
      }
    };
    this.journal = Journal.open({
      directory: options.journalDirectory,
      fsync: options.fsync,
      memoryRows: options.memoryRows,
      onWritten: (rows) => this.written(rows),
      // A seal that waited for the write out: its segment can go to the store now.
      onSealed: () => this.tick(),
      onWriteError: (error, rows) => {
        this.counts.dropped += rows;
        this.onError(
          new Error(`journal write failed, ${rows} rows lost: ${message(error)}`, { cause: error }),
        );
      },
    });
    this.timer = setInterval(() => this.tick(), positive('flushIntervalMs', options.flushIntervalMs ?? 200));
    // The interval alone must not keep a process alive; close() is what ends the writer.
    this.timer.unref();
    // process.exit() and an uncaught exception still run 'exit' listeners: this turn's rows get written.
    process.on('exit', this.onExit);
    // Segments a previous process left are replayed first, without waiting for the first interval.
    if (this.journal.sealed.length > 0) this.tick();
  }

  /** Opens the journal (taking its lock) and starts the loop; replay of a previous journal starts at once. */
  static open(options: LedgerWriterOptions): LedgerWriter {
    return new LedgerWriter(options);
  }

  /**
   * Takes a row for the ledger, synchronously: no I/O, no await. Throws a TypeError for a malformed row
   * (a bug in the caller: such a row could never be stored). Returns false when the row is refused: the
   * journal is at its disk cap or the writer is closed (counted in `dropped`).
   */
  record(row: LedgerRow): boolean {
    const entry = normalizeRow(row);
    if (this.closed) {
      this.counts.dropped++;
      return false;
    }
    const line = `${JSON.stringify(entry)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.journal.bytes + bytes > this.maxJournalBytes) {
      this.counts.dropped++;
      if (!this.refusing) {
        this.refusing = true;
        this.onError(
          new Error(
            `journal at its cap of ${this.maxJournalBytes} bytes while the store fails: refusing new rows`,
          ),
        );
      }
      return false;
    }
    this.journal.append(line, bytes, entry);
    this.counts.recorded++;
    return true;
  }

  /**
   * Resolves once every row recorded before the call has committed, waiting through retries; it does not
   * resolve while the store keeps failing (close() has a deadline, this does not).
   */
  async flush(): Promise<void> {
    await this.flushUntil(Infinity);
  }

  /**
   * Stops taking rows, flushes everything, releases the journal. Waits at most `timeoutMs` for the store
   * (default 10 s); what has not committed by then stays in the journal for the next start.
   */
  async close(timeoutMs = 10_000): Promise<CloseResult> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
      // Retry at once rather than after the backoff: this is the last chance in this process.
      this.retryAt = 0;
      await this.flushUntil(Date.now() + timeoutMs);
      process.off('exit', this.onExit);
      this.journal.close();
    }
    return { pendingSegments: this.journal.sealed.length };
  }

  stats(): LedgerWriterStats {
    return {
      ...this.counts,
      pendingSegments: this.journal.sealed.length,
      journalBytes: this.journal.bytes,
    };
  }

  /** Whether everything recorded before the call committed by `deadline` (epoch ms). */
  private async flushUntil(deadline: number): Promise<boolean> {
    await this.journal.sealAndWait();
    const target = this.journal.sealed.at(-1)?.seq;
    if (target === undefined) return true;
    while ((this.journal.sealed[0]?.seq ?? Infinity) <= target) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      this.tick();
      // Between failed attempts, wake up when the backoff ends (tick() then retries).
      const next = this.draining ?? sleep(Math.min(Math.max(this.retryAt - Date.now(), 1), 50));
      await within(next, remaining);
    }
    return true;
  }

  private written(rows: number): void {
    this.counts.acknowledged += rows;
    // Sealed here, not in the loop, so that segments stay batch-sized even while the loop backs off.
    if (this.journal.activeRows >= this.maxBatchRows) {
      this.journal.seal();
      this.tick();
    }
  }

  private tick(): void {
    if (this.draining !== undefined || Date.now() < this.retryAt) return;
    // Cut the active segment when nothing older is waiting (latency), or when it is full (size); while
    // older segments wait, new rows keep filling one segment instead of making a file per interval.
    if (this.journal.sealed.length === 0 || this.journal.activeRows >= this.maxBatchRows) this.journal.seal();
    // seal() writes the turn, and written() may have started the drain from inside it: one drain only,
    // or two would insert the same segment.
    if (this.draining !== undefined || this.journal.sealed.length === 0) return;
    this.draining = this.drain().finally(() => (this.draining = undefined));
  }

  /** Commits sealed segments oldest first; stops at the first failure and schedules the retry. */
  private async drain(): Promise<void> {
    for (let segment = this.journal.sealed[0]; segment !== undefined; segment = this.journal.sealed[0]) {
      try {
        await this.commit(segment);
      } catch (error) {
        this.counts.failedBatches++;
        this.counts.consecutiveFailures++;
        this.retryAt = Date.now() + this.backoff();
        this.onError(
          new Error(
            `batch failed (${this.counts.consecutiveFailures} in a row), kept for retry: ${message(error)}`,
            { cause: error },
          ),
        );
        return;
      }
      this.counts.consecutiveFailures = 0;
      this.retryAt = 0;
      if (this.journal.bytes <= this.maxJournalBytes / 2) this.refusing = false;
    }
  }

  private async commit(segment: JournalSegment): Promise<void> {
    const contents = await this.journal.read(segment);
    // A segment larger than a batch (one turn recorded more, or an older process had a larger
    // maxBatchRows) goes in several transactions; if one fails, the retry repeats the committed ones,
    // which the store skips by request_id.
    for (let start = 0; start < contents.entries.length; start += this.maxBatchRows) {
      await this.store.insert(contents.entries.slice(start, start + this.maxBatchRows));
    }
    const unreadable = contents.torn + contents.corrupt;
    if (unreadable > 0) {
      this.counts.unreadable += unreadable;
      this.onError(new Error(`journal ${segment.path}: ${unreadable} unreadable lines skipped`));
    }
    await this.journal.remove(segment, contents.corrupt > 0);
    this.counts.committed += contents.entries.length;
  }

  /** "Equal jitter" over an exponential ceiling (AWS Architecture Blog, "Exponential Backoff and Jitter"). */
  private backoff(): number {
    const ceiling = Math.min(
      this.retryMaxMs,
      this.retryInitialMs * 2 ** (this.counts.consecutiveFailures - 1),
    );
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new TypeError(`ledger writer: ${name} must be positive`);
  return value;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise` or `ms`, whichever comes first, without leaving a timer behind. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms === Infinity) {
    await promise;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
