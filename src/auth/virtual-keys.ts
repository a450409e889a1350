/**
 * Virtual keys: the gateway's own credentials, one per app. Secrets are kept only as SHA-256 digests.
 * A presented token is hashed and looked up by digest, then the digests are compared with
 * timingSafeEqual: the lookup reveals nothing about the secret (an attacker would need a preimage), and
 * the final comparison takes the same time whatever the bytes.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Budget, Limits } from '../accounts/account-store.js';
import type { KeyConfig } from '../config/schema.js';

export interface VirtualKey {
  /** Stable id of the admin API: `key_…` for keys made there, `cfg_…` (from the name) for config keys. */
  id: string;
  name: string;
  /** Where the key is defined: the config file (read-only to the admin API) or the admin API. */
  source: 'config' | 'api';
  team: string | undefined;
  /** Allowed model names; undefined = all. */
  models: ReadonlySet<string> | undefined;
  priority: 'interactive' | 'batch';
  /** The key's own limits (admission); undefined when it has none. */
  limits: Limits | undefined;
  /** The key's spend per period (charge), all its end-users together. */
  budget: Budget | undefined;
  /** Each end-user's spend per period through this key. */
  endUserBudget: Budget | undefined;
}

interface StoredKey {
  digest: Buffer;
  key: VirtualKey;
}

/** SHA-256 of a secret, base64. The one-shot crypto.hash with a string result skips a Hash object and a Buffer. */
export function digestOf(secret: string): string {
  return hash('sha256', secret, 'base64');
}

/** The admin API id of a key defined in the config: derived from its name, so stable across restarts. */
export function configKeyId(name: string): string {
  return `cfg_${hash('sha256', `sluice-config-key:${name}`, 'base64url').slice(0, 16)}`;
}

export function keyFromConfig(k: KeyConfig): VirtualKey {
  return {
    id: configKeyId(k.name),
    name: k.name,
    source: 'config',
    team: k.team,
    models: k.models === undefined ? undefined : new Set(k.models),
    priority: k.priority,
    limits: k.limits,
    budget: k.budget,
    endUserBudget: k.end_user_budget,
  };
}

/**
 * The live keys by digest of their secret. Keys come from the config at start and, with the admin API,
 * from the database while the gateway runs (auth/directory.ts); a change replaces the whole entry, so a
 * request sees a key either before or after an update, never half of it.
 */
export class VirtualKeyStore {
  private readonly byDigest = new Map<string, StoredKey>();
  private readonly digestById = new Map<string, string>();

  constructor(keys: readonly KeyConfig[] = []) {
    for (const k of keys) this.put(digestOf(k.key), keyFromConfig(k));
  }

  get size(): number {
    return this.byDigest.size;
  }

  put(digest: string, key: VirtualKey): void {
    const previous = this.digestById.get(key.id);
    if (previous !== undefined && previous !== digest) this.byDigest.delete(previous);
    this.digestById.set(key.id, digest);
    this.byDigest.set(digest, { digest: Buffer.from(digest, 'base64'), key });
  }

  remove(id: string): void {
    const digest = this.digestById.get(id);
    if (digest === undefined) return;
    this.digestById.delete(id);
    this.byDigest.delete(digest);
  }

  withDigest(digest: string): VirtualKey | undefined {
    return this.byDigest.get(digest)?.key;
  }

  byId(id: string): VirtualKey | undefined {
    const digest = this.digestById.get(id);
    return digest === undefined ? undefined : this.byDigest.get(digest)?.key;
  }

  *all(): IterableIterator<VirtualKey> {
    for (const stored of this.byDigest.values()) yield stored.key;
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
  id: 'anonymous',
  name: 'anonymous',
  source: 'config',
  budget: undefined,
  endUserBudget: undefined,
  team: undefined,
  limits: undefined,
  models: undefined,
  priority: 'interactive',
};
