/**
 * Virtual keys: the gateway's own credentials, one per app. Secrets are kept only as SHA-256 digests.
 * A presented token is hashed and looked up by digest, then the digests are compared with
 * timingSafeEqual: the lookup reveals nothing about the secret (an attacker would need a preimage), and
 * the final comparison takes the same time whatever the bytes.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { KeyConfig } from '../config/schema.js';

export interface VirtualKey {
  name: string;
  team: string | undefined;
  /** Allowed model names; undefined = all. */
  models: ReadonlySet<string> | undefined;
  priority: 'interactive' | 'batch';
  /** The key's own limits (admission); undefined when it has none. */
  limits:
    { rpm?: number | undefined; tpm?: number | undefined; concurrency?: number | undefined } | undefined;
}

interface StoredKey {
  digest: Buffer;
  key: VirtualKey;
}

/** SHA-256 of a secret, base64. The one-shot crypto.hash with a string result skips a Hash object and a Buffer. */
export function digestOf(secret: string): string {
  return hash('sha256', secret, 'base64');
}

export class VirtualKeyStore {
  private readonly byDigest = new Map<string, StoredKey>();

  constructor(keys: readonly KeyConfig[]) {
    for (const k of keys) {
      const digest = digestOf(k.key);
      this.byDigest.set(digest, {
        digest: Buffer.from(digest, 'base64'),
        key: {
          name: k.name,
          team: k.team,
          models: k.models === undefined ? undefined : new Set(k.models),
          priority: k.priority,
          limits: k.limits,
        },
      });
    }
  }

  /** No keys configured means open access (the demo); the server warns about it at start. */
  get open(): boolean {
    return this.byDigest.size === 0;
  }

  verify(secret: string): VirtualKey | undefined {
    const digest = digestOf(secret);
    const stored = this.byDigest.get(digest);
    if (stored === undefined || !timingSafeEqual(stored.digest, Buffer.from(digest, 'base64')))
      return undefined;
    return stored.key;
  }
}

/** The key an open gateway attributes requests to. */
export const anonymousKey: VirtualKey = {
  name: 'anonymous',
  team: undefined,
  limits: undefined,
  models: undefined,
  priority: 'interactive',
};
