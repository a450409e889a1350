// Seeded randomness for the simulator. A hand-written mulberry32 instead of a package: it is a dozen lines,
// the simulator must run on Node built-ins alone, and Math.random cannot be seeded, which would make
// fault-injection runs impossible to reproduce.

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units; `hash` chains several strings into one digest. */
export function hashString(text: string, hash: number = FNV_OFFSET): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a over 32-bit integers (token-id inputs). */
export function hashNumbers(values: readonly number[], hash: number = FNV_OFFSET): number {
  let h = hash;
  for (const value of values) {
    h = Math.imul(h ^ (value & 0xffff), FNV_PRIME);
    h = Math.imul(h ^ (value >>> 16), FNV_PRIME);
  }
  return h >>> 0;
}

/** Derives an independent stream seed, so e.g. choice 1 does not replay choice 0's draws. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
