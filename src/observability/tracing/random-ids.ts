/**
 * W3C trace ids (16 bytes) and span ids (8 bytes) as lowercase hex, cut from one pool of random bytes.
 *
 * Every request takes a trace id and a span id, and every attempt a span id, whether or not tracing is on
 * (log lines, ledger rows and the upstream's traceparent carry them), so this is on the hot path.
 * `randomBytes(16).toString('hex')` allocates a Buffer and crosses into C++ per id (about 3 µs for a
 * request's two ids in bench/observability.ts); hex-encoding a slice of a pooled Buffer still crosses
 * once per id (~75 ns each). Here 4 KB of random bytes are drawn and hex-encoded in one call per ~170
 * requests, and each id is a substring of that text (~20 ns). V8 keeps such a substring as a view of the
 * 8 KB text, so a pool's text lives as long as an id cut from it: a few of them at most, as ids live
 * only as long as their request and the log and ledger batches that carry them.
 *
 * The bytes come from the CSPRNG, and ids must not be guessable across tenants.
 *
 * A trace id the gateway starts is time-ordered, like a UUIDv7 or an AWS X-Ray id: 12 hex digits of
 * epoch milliseconds, then 80 random bits. The ledger indexes rows by trace id, and a random id put each
 * insert on a random page of that index: each 500-row batch then dirtied some 500 index pages, all
 * rewritten to the WAL at commit, and an embedded ledger row cost 36–51 µs to insert against 16 µs with
 * time-ordered ids (100,000 rows). W3C Trace Context level 2 asks only the rightmost 7 bytes to be random
 * (the randomness samplers read, sampler.ts), and these 80 bits cover them.
 */
import { randomFillSync } from 'node:crypto';

const poolBytes = 4096;
const pool = Buffer.allocUnsafe(poolBytes);
let text = '';
let offset = 0;

const invalidTraceId = '0'.repeat(32);
const invalidSpanId = '0'.repeat(16);

/** `digits` lowercase hex digits from the CSPRNG pool (at most 64 at a time). */
export function randomHex(digits: number): string {
  return hex(digits);
}

function hex(digits: number): string {
  if (offset + digits > text.length) {
    randomFillSync(pool);
    text = pool.toString('hex');
    offset = 0;
  }
  const start = offset;
  offset += digits;
  return text.slice(start, offset);
}

let stampMs = -1;
let stamp = '';

/** Epoch milliseconds as 12 lowercase hex digits (48 bits), formatted once per millisecond. */
export function epochMsHex(now: number): string {
  if (now !== stampMs) {
    stampMs = now;
    stamp = Math.max(0, Math.trunc(now)).toString(16).padStart(12, '0').slice(-12);
  }
  return stamp;
}

/** 32 lowercase hex digits: 12 of the time in ms, 20 random; never the all-zero id W3C reserves. */
export function newTraceId(now = Date.now()): string {
  const stamp = epochMsHex(now);
  let id = stamp + hex(20);
  while (id === invalidTraceId) id = stamp + hex(20);
  return id;
}

/** 16 lowercase hex digits, never the all-zero id W3C reserves as invalid. */
export function newSpanId(): string {
  let id = hex(16);
  while (id === invalidSpanId) id = hex(16);
  return id;
}
