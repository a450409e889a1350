/** Reproducible random inputs for hostile-input tests: a failure can be replayed from its seed. */

/** mulberry32: reproducible draws, so a failure can be replayed from its seed. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const weirdValues: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1e308,
  -1e308,
  3.5,
  '',
  'x',
  '\u0000',
  '\ud800',
  '💥'.repeat(50),
  [],
  [[]],
  {},
  { role: 1 },
  [null],
  ['user'],
  { __proto__: { polluted: true } },
  'a'.repeat(10_000),
  Number.MAX_SAFE_INTEGER + 2,
];

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** A random change somewhere in `value`; `fields` are names to add (a route's own field names). */
export function mutate(random: () => number, value: unknown, fields: readonly string[], depth = 0): unknown {
  if (depth > 3 || random() < 0.3) return pick(random, weirdValues);
  if (Array.isArray(value)) {
    const copy = [...value];
    if (copy.length > 0 && random() < 0.5)
      copy[Math.floor(random() * copy.length)] = mutate(random, copy[0], fields, depth + 1);
    else copy.push(pick(random, weirdValues));
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const roll = random();
    if (roll < 0.3 && keys.length > 0) delete copy[pick(random, keys)];
    else if (roll < 0.8 && keys.length > 0) {
      const key = pick(random, keys);
      copy[key] = mutate(random, copy[key], fields, depth + 1);
    } else copy[pick(random, fields)] = pick(random, weirdValues);
    return copy;
  }
  return pick(random, weirdValues);
}
