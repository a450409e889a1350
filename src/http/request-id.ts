/**
 * Request ids: UUIDv7 (RFC 9562), a millisecond timestamp followed by random bits. The id is the
 * ledger's primary key, and a random (v4) key lands every insert on a random page of that index: after a
 * few hundred thousand rows, each batch dirtied about one index page per row, and the embedded ledger's
 * inserts took 44 µs a row against 24–30 µs with time-ordered ids, which land at the index's end
 * (measured with 1,000-row batches over 200,000 rows). Ids stay unique (74 random bits per millisecond),
 * opaque to clients and sortable by time.
 */
import { randomUUID } from 'node:crypto';

export function newRequestId(now = Date.now()): string {
  // randomUUID is pooled and cheap; its version nibble (index 14) and the 12 hex digits before it are
  // replaced by version 7 and the 48-bit time, its variant and random tail kept.
  const random = randomUUID();
  const t = now.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${random.slice(15)}`;
}
