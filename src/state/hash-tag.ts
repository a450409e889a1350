/**
 * Redis key prefixes and their hash tag, apart from the Redis client so that the config schema can check
 * a prefix without loading ioredis.
 */

/** A Redis Cluster hash tag (`{sluice}`): what keeps a multi-key script's keys in one slot. */
export const hashTagPattern = /^[^{]*\{[^}]+\}/;

/** Refuses a key prefix without a hash tag: a multi-key script on it would fail on Redis Cluster. */
export function requireHashTag(prefix: string, what: string): string {
  if (!hashTagPattern.test(prefix))
    throw new RangeError(`${what} prefix needs a hash tag, e.g. {sluice}:, got ${prefix}`);
  return prefix;
}
