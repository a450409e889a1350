/**
 * Idempotent requests (`Idempotency-Key`, CONTRACT.md): the first response to a key is stored and
 * replayed to every repeat with the same body, so a client that retries a POST (a timeout, a dropped
 * connection) gets the answer it would have had, billed once.
 *
 * A key is claimed by the first request (`owner`); a repeat while it runs is told `running` and waits;
 * once it completes, repeats are `done` and get its response; a repeat with another body is `mismatch`
 * (422). Only complete successful answers are stored: a failure releases the claim, so a retry runs
 * again. A claim whose owner died (a crash) lapses after `lockMs`.
 *
 * Two backends pass one conformance suite: memory (one process) and Redis (shared by the replicas).
 */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Claim =
  { kind: 'owner' } | { kind: 'running' } | { kind: 'mismatch' } | { kind: 'done'; response: StoredResponse };

export interface IdempotencyStore {
  /** Claims `scope` for a request whose body hashes to `fingerprint`, or says who has it. */
  claim(scope: string, fingerprint: string, lockMs: number): Promise<Claim>;
  /** The owner's answer: kept for `ttlMs`. */
  complete(scope: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void>;
  /** The owner failed: the key is free again. */
  release(scope: string, fingerprint: string): Promise<void>;
  /** Resolves when `scope` may have changed, or after `maxMs` (callers claim again). */
  changed(scope: string, maxMs: number): Promise<void>;
  close(): Promise<void>;
}
