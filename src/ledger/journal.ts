/**
 * The ledger's write-ahead journal: the file a row reaches before it counts as acknowledged, so a crash
 * of the process loses nothing acknowledged (docs/ledger.md has the whole argument).
 *
 * - Rows are JSON lines in numbered segment files (`segment-000000000001.jsonl`, …). Lines appended during
 *   one event-loop turn are buffered and written together by one `fs.write` from a `setImmediate`, so
 *   the hot path pays a string push per row and the process one system call per turn, however many
 *   requests finished in it. The write runs on libuv's thread pool, one at a time: lines appended while
 *   one is out go in the next, and writes start at least `writeGapMs` apart (so at most one per turn).
 *   Synchronous, on the event loop, a write blocks whenever the filesystem does (on ext4 a write may
 *   wait for a journal commit, which fsyncs such as the database's start): in a side harness at 1,000
 *   req/s that put the gateway's p99 at 21-65 ms against 6-12 ms with the data directory on tmpfs. A
 *   row is acknowledged when its write has returned, as before; sealing waits for the writes that carry
 *   its lines, and the exit handler's last write is synchronous. Opening and closing a segment (a few
 *   times a second) stay synchronous.
 * - `seal()` closes the active segment; the next turn's lines open a new one. LedgerWriter seals a segment
 *   to make it a batch, and removes the file only after the batch has committed. So every acknowledged row
 *   is in the database or in a segment file, at every instant.
 * - A segment this process wrote whole also keeps its rows in memory (up to `memoryRows` rows over all
 *   sealed segments), so committing it does not read back, split, parse and check again the lines it has
 *   just written (parseSegment alone was 2.8 µs a request in the bench's profile, the file read and the
 *   garbage besides). The file is still the record; a segment recovered at open, one past the memory
 *   bound, or one whose write failed half way is read from disk.
 * - At open, the segments a previous process left (it crashed, or its database was down when it stopped)
 *   are the first sealed segments, replayed before anything new; inserts are idempotent on request_id, so
 *   a segment replayed after its batch had committed (a crash between commit and unlink) adds nothing.
 * - A `lock` file holding the pid keeps two live processes off one directory: each process needs its own.
 *   It guards against a misconfiguration, not a race; a lock whose process is gone is taken over.
 * - A write that fails (disk full) loses the lines of that turn, which were never acknowledged, and seals
 *   the segment so that its torn last line ends a file instead of running into the next line.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  write,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LedgerEntry, LedgerRow } from './ledger.js';
import { normalizeRow } from './rows.js';

/**
 * Writes start at least this far apart (ms). On a busy gateway each write returned within the same few
 * turns and the next followed at once: some 900 writes a second at 10,000 requests a second, each a trip
 * through libuv's thread pool, which on a gateway pinned to one core runs between its requests. Spaced by
 * 2 ms they carry more lines each, and the throughput rose by about 4% (three interleaved rounds, the
 * bench's config, 10.2k → 10.65k req/s); a row waits at most this much longer to be acknowledged.
 */
const writeGapMs = 2;

export interface JournalSegment {
  readonly seq: number;
  readonly path: string;
  /** Bytes on disk. */
  readonly bytes: number;
  /** Rows written to it by this process; undefined for a segment recovered at open (not read yet). */
  readonly rows: number | undefined;
  /** Its rows, as written, when kept in memory (see the header); otherwise read from the file. */
  readonly entries?: readonly LedgerEntry[] | undefined;
}

export interface SegmentContents {
  entries: readonly LedgerEntry[];
  /** A last line without its newline: a write cut short by a crash or a full disk, never acknowledged. */
  torn: number;
  /** Complete lines that are not a valid row (the file is then kept as `.corrupt` rather than removed). */
  corrupt: number;
}

export interface JournalOptions {
  directory: string;
  /** fdatasync after every turn's write: survives power loss too, at a disk flush per turn. Default false. */
  fsync?: boolean | undefined;
  /** After each turn's write, with the number of rows it made durable. */
  onWritten?: ((rows: number) => void) | undefined;
  /** A turn's write failed: its rows are lost (they were never acknowledged). */
  onWriteError?: ((error: unknown, rows: number) => void) | undefined;
  /** A seal that had to wait for the write out at the time is done (the segment is in `sealed`). */
  onSealed?: (() => void) | undefined;
  /** Rows of sealed segments kept in memory at most, over all of them. Default 2,000. */
  memoryRows?: number | undefined;
}

interface ActiveSegment {
  seq: number;
  path: string;
  fd: number;
  bytes: number;
  rows: number;
  /** The rows written to it so far; undefined once one line came without its entry, or a write failed. */
  entries: LedgerEntry[] | undefined;
}

/** Replayed: `.jsonl`; kept for a human: `.jsonl.corrupt`, whose number is not reused either. */
const segmentName = /^segment-(\d{12})\.jsonl(\.corrupt)?$/;
/** Directories open in this process, by absolute path: the pid in the lock cannot tell two of ours apart. */
const openDirectories = new Set<string>();

export class Journal {
  readonly directory: string;
  /** Sealed segments, oldest first, not yet committed: recovered ones, then this process's. */
  readonly sealed: JournalSegment[] = [];
  private readonly fsync: boolean;
  private readonly onWritten: (rows: number) => void;
  private readonly onWriteError: (error: unknown, rows: number) => void;
  private readonly lockPath: string;
  private nextSeq: number;
  private active: ActiveSegment | undefined;
  private buffered: string[] = [];
  /** The entries of the buffered lines, in order; undefined once a line came without one. */
  private bufferedEntries: LedgerEntry[] | undefined = [];
  private bufferedBytes = 0;
  private readonly memoryRows: number;
  /** Rows held in memory by sealed segments. */
  private heldRows = 0;
  private sealedBytes = 0;
  private scheduled = false;
  /** When the last asynchronous write started (performance.now()), and the timer of a deferred one. */
  private lastWriteAt = -Infinity;
  private gapTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The asynchronous write out now, if any: its rows and bytes count as the active segment's. */
  private writing: { rows: number; bytes: number } | undefined;
  /**
   * A seal waiting for writes: 'after-this' ends the segment when the write out returns; 'after-next'
   * when the one after it does (lines were buffered at the seal, and the write out does not carry them).
   */
  private sealPending: 'after-this' | 'after-next' | undefined;
  private readonly onSealed: () => void;
  /** sealAndWait() callers waiting for the pending seal. */
  private readonly sealWaiters: (() => void)[] = [];

  private constructor(options: JournalOptions) {
    this.directory = resolve(options.directory);
    this.fsync = options.fsync ?? false;
    this.onWritten = options.onWritten ?? (() => {});
    this.onWriteError = options.onWriteError ?? (() => {});
    this.onSealed = options.onSealed ?? (() => {});
    this.memoryRows = options.memoryRows ?? 2_000;
    this.lockPath = join(this.directory, 'lock');
    mkdirSync(this.directory, { recursive: true });
    this.takeLock();
    let last = 0;
    for (const name of readdirSync(this.directory).sort()) {
      const match = segmentName.exec(name);
      if (match === null) continue;
      last = Math.max(last, Number(match[1]));
      if (match[2] !== undefined) continue;
      const path = join(this.directory, name);
      const segment = { seq: Number(match[1]), path, bytes: statSync(path).size, rows: undefined };
      this.sealed.push(segment);
      this.sealedBytes += segment.bytes;
    }
    this.nextSeq = last + 1;
  }

  static open(options: JournalOptions): Journal {
    return new Journal(options);
  }

  /** On disk or about to be: what the writer's disk cap counts. */
  get bytes(): number {
    return this.sealedBytes + (this.active?.bytes ?? 0) + (this.writing?.bytes ?? 0) + this.bufferedBytes;
  }

  /** Rows in the active segment, written, being written or waiting for this turn's write. */
  get activeRows(): number {
    return (this.active?.rows ?? 0) + (this.writing?.rows ?? 0) + this.buffered.length;
  }

  /**
   * Takes one line (with its newline); it is written at the end of this turn. `entry` is the row the
   * line encodes, kept so that committing the segment need not parse the line back.
   */
  append(line: string, bytes: number, entry?: LedgerEntry): void {
    if (this.closed) throw new Error('ledger journal is closed');
    this.buffered.push(line);
    if (entry === undefined) this.bufferedEntries = undefined;
    else this.bufferedEntries?.push(entry);
    this.bufferedBytes += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.writeSoon();
      });
    }
  }

  /** Starts the next write now, or once `writeGapMs` has passed since the last one started. */
  private writeSoon(): void {
    if (this.writing !== undefined || this.buffered.length === 0 || this.closed) return;
    const wait = this.lastWriteAt + writeGapMs - performance.now();
    if (wait <= 0) return this.writeAsync();
    this.gapTimer ??= setTimeout(() => {
      this.gapTimer = undefined;
      this.writeSoon();
    }, wait);
  }

  /** Hands the buffered lines to one asynchronous write, unless one is out (its return starts the next). */
  private writeAsync(): void {
    if (this.writing !== undefined || this.buffered.length === 0 || this.closed) return;
    this.lastWriteAt = performance.now();
    const { rows, data, entries } = this.takeBuffered();
    let active: ActiveSegment;
    try {
      active = this.active ?? this.openSegment();
    } catch (error) {
      this.onWriteError(error, rows);
      // A seal waiting for these lines has nothing more to wait for: they are lost.
      if (this.sealPending !== undefined) this.completeSeal(undefined);
      return;
    }
    this.writing = { rows, bytes: data.length };
    const done = (error: Error | null): void => {
      this.writing = undefined;
      const pending = this.sealPending;
      this.sealPending = undefined;
      if (error === null) this.written(active, data.length, rows, entries);
      else this.writeFailed(active, error, rows);
      if (pending === 'after-this') {
        this.completeSeal(active);
      } else if (pending === 'after-next') {
        this.sealPending = 'after-this';
      }
      // Told last, so that a seal() it makes finds the state above settled.
      if (error === null) this.onWritten(rows);
      this.writeSoon();
    };
    const rest = (offset: number): void => {
      write(active.fd, data, offset, data.length - offset, null, (error, count) => {
        if (error !== null) return done(error);
        if (offset + count < data.length) return rest(offset + count);
        if (!this.fsync) return done(null);
        fdatasync(active.fd, done);
      });
    };
    rest(0);
  }

  /**
   * Writes the lines buffered so far, synchronously, in one system call: at close (after the last seal,
   * so nothing is out) and at process exit, when no callback would run (a write still out then was
   * never acknowledged; both append, in either order).
   */
  writeTurn(): void {
    if (this.buffered.length === 0) return;
    const { rows, data, entries } = this.takeBuffered();
    let active: ActiveSegment | undefined;
    try {
      active = this.active ?? this.openSegment();
      let offset = 0;
      while (offset < data.length) offset += writeSync(active.fd, data, offset);
      if (this.fsync) fdatasyncSync(active.fd);
    } catch (error) {
      if (active === undefined) this.onWriteError(error, rows);
      else this.writeFailed(active, error, rows);
      return;
    }
    this.written(active, data.length, rows, entries);
    this.onWritten(rows);
  }

  /**
   * Ends a seal that waited: seals `active` if it is still the active segment (nothing is out now, so it
   * closes on a quiet descriptor) and tells the waiters.
   */
  private completeSeal(active: ActiveSegment | undefined): void {
    this.sealPending = undefined;
    if (active !== undefined && this.active === active) this.sealActive();
    for (const resolve of this.sealWaiters.splice(0)) resolve();
    this.onSealed();
  }

  /** The buffered lines as one chunk for a write, their entries, and the buffer emptied. */
  private takeBuffered(): { rows: number; data: Buffer; entries: LedgerEntry[] | undefined } {
    const chunk = {
      rows: this.buffered.length,
      data: Buffer.from(this.buffered.join('')),
      entries: this.bufferedEntries,
    };
    this.buffered = [];
    this.bufferedEntries = [];
    this.bufferedBytes = 0;
    return chunk;
  }

  private written(
    active: ActiveSegment,
    bytes: number,
    rows: number,
    entries: LedgerEntry[] | undefined,
  ): void {
    active.bytes += bytes;
    active.rows += rows;
    if (entries === undefined) active.entries = undefined;
    else active.entries?.push(...entries);
  }

  private writeFailed(active: ActiveSegment, error: unknown, rows: number): void {
    active.bytes = statOrZero(active.path);
    // Part of the write may be in the file: only the file says what the segment holds now. Sealed, so
    // that a torn last line ends a file instead of running into the next line.
    active.entries = undefined;
    if (this.active === active) this.sealActive();
    this.onWriteError(error, rows);
  }

  /**
   * Ends the active segment once the lines buffered so far are written, and queues it. With nothing to
   * write it is sealed at once (and returned; undefined if it was empty). Otherwise the last writes are
   * asynchronous like every turn's: it returns undefined and `onSealed` tells when the segment is queued.
   */
  seal(): JournalSegment | undefined {
    if (this.writing !== undefined) {
      if (this.sealPending !== 'after-next') {
        this.sealPending = this.buffered.length > 0 ? 'after-next' : 'after-this';
      }
      return undefined;
    }
    if (this.buffered.length > 0) {
      this.writeAsync();
      if (this.writing !== undefined) {
        this.sealPending = 'after-this';
        return undefined;
      }
    }
    return this.sealActive();
  }

  /**
   * Seals as seal() does and resolves once it is done: every line appended before the call is then in a
   * sealed segment (flush and close start from there). Waits for at most two writes.
   */
  sealAndWait(): Promise<void> {
    this.seal();
    if (this.sealPending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.sealWaiters.push(resolve));
  }

  /**
   * A sealed segment's rows: those kept in memory, else read back from its file. A missing file reads as
   * empty (it was already committed and removed).
   */
  async read(segment: JournalSegment): Promise<SegmentContents> {
    if (segment.entries !== undefined) return { entries: segment.entries, torn: 0, corrupt: 0 };
    let text: string;
    try {
      text = await readFile(segment.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], torn: 0, corrupt: 0 };
      throw error;
    }
    return parseSegment(text);
  }

  /**
   * Drops a committed segment. `keep` renames it to `.corrupt` instead, for a human to look at, when it
   * held lines that were not rows.
   */
  async remove(segment: JournalSegment, keep = false): Promise<void> {
    try {
      if (keep) await rename(segment.path, `${segment.path}.corrupt`);
      else await unlink(segment.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const index = this.sealed.indexOf(segment);
    if (index !== -1) {
      this.sealed.splice(index, 1);
      this.sealedBytes -= segment.bytes;
      this.heldRows -= segment.entries?.length ?? 0;
    }
  }

  /** Writes what is buffered and releases the directory; segments stay on disk for the next start. */
  close(): void {
    if (this.closed) return;
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    this.writeTurn();
    // A write still out (close without sealAndWait first) keeps its descriptor: closing it under the
    // thread pool's write could hand the number to another file. The process is ending anyway.
    if (this.active !== undefined && this.writing === undefined) closeSync(this.active.fd);
    this.active = undefined;
    this.closed = true;
    try {
      unlinkSync(this.lockPath);
    } catch {
      // already gone: nothing to release
    }
    openDirectories.delete(this.directory);
  }

  private openSegment(): ActiveSegment {
    const seq = this.nextSeq++;
    const path = join(this.directory, `segment-${String(seq).padStart(12, '0')}.jsonl`);
    const fd = openSync(path, 'ax');
    if (this.fsync) syncDirectory(this.directory);
    this.active = { seq, path, fd, bytes: 0, rows: 0, entries: [] };
    return this.active;
  }

  private sealActive(): JournalSegment | undefined {
    const active = this.active;
    if (active === undefined) return undefined;
    this.active = undefined;
    closeSync(active.fd);
    if (active.rows === 0 && active.bytes === 0) {
      unlinkSync(active.path);
      return undefined;
    }
    // Within the bound, the rows stay in memory; past it (the store has been failing for a while) the
    // file alone holds them, so an outage grows the disk, not the heap.
    const entries =
      active.entries !== undefined && this.heldRows + active.entries.length <= this.memoryRows
        ? active.entries
        : undefined;
    this.heldRows += entries?.length ?? 0;
    const segment = { seq: active.seq, path: active.path, bytes: active.bytes, rows: active.rows, entries };
    this.sealed.push(segment);
    this.sealedBytes += segment.bytes;
    return segment;
  }

  private takeLock(): void {
    if (openDirectories.has(this.directory)) {
      throw new Error(`ledger journal ${this.directory} is already open in this process`);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(this.lockPath, `${process.pid}\n`, { flag: 'wx' });
        openDirectories.add(this.directory);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      }
      const holder = Number.parseInt(readFileOrEmpty(this.lockPath), 10);
      if (holder !== process.pid && processAlive(holder)) {
        throw new Error(`ledger journal ${this.directory} is in use by process ${holder}`);
      }
      // The holder is gone (or was this pid in an earlier life, as pid 1 in a restarted container).
      unlinkSync(this.lockPath);
    }
  }
}

export function parseSegment(text: string): SegmentContents {
  const lines = text.split('\n');
  // After the last newline: '' for a whole file, else the start of a line whose write was cut short.
  const tail = lines.pop() ?? '';
  const entries: LedgerEntry[] = [];
  let corrupt = 0;
  for (const line of lines) {
    if (line.length === 0) continue;
    try {
      entries.push(normalizeRow(JSON.parse(line) as LedgerRow));
    } catch {
      corrupt++;
    }
  }
  return { entries, torn: tail.length > 0 ? 1 : 0, corrupt };
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readFileOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function statOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A new file's directory entry survives power loss only once the directory itself is synced. */
function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
