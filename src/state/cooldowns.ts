/**
 * Cooldowns: "do not send to this target before T", learned from an upstream's 429 and its rate-limit
 * headers (routing/rate-limit-headers.ts). A 429 is a quota signal about one key, so every replica using
 * that key should hear it: with the Redis backend a cooldown set on one replica reaches the others.
 *
 * The read side is on every routing decision, so it is synchronous and local (a Map lookup); sharing
 * happens behind it and never delays a request. Cooldowns fail open: losing the shared store only means
 * a replica learns a 429 for itself, one request later.
 */

export interface CooldownStore {
  /** Epoch ms until which the target rests, 0 if it does not. Synchronous, local memory only. */
  until(target: string): number;
  /**
   * Puts the target in cooldown until `untilMs` (epoch ms). Extends only: a shorter cooldown never
   * shortens a longer one, since two 429s from one key both tell the truth about its quota. With Redis,
   * also shares it with the other replicas (fire and forget).
   */
  set(target: string, untilMs: number): void;
  /** Whether the backend behind it is reachable now (for /readyz); the in-process store always is. */
  reachable(): boolean;
  close(): Promise<void>;
}

export interface CooldownStoreOptions {
  /**
   * Key and channel prefix for the Redis backend. Keep a hash tag in it (`{sluice}:`) so every key lands
   * in one slot and the store works on Redis Cluster; tests use their own to stay apart.
   */
  prefix?: string;
  /** Where backend failures go (the caller logs them); the store itself never throws at runtime. */
  onError?: (error: unknown) => void;
  /** The clock that decides expiry; tests inject one. */
  now?: () => number;
}

export const defaultCooldownPrefix = '{sluice}:';
