import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../simulator/random.js';
import { LATENCY_EXPLORE_PROBABILITY, orderCandidates, type Candidate, type Strategy } from './strategies.js';

interface Named extends Candidate {
  name: string;
}

function candidate(name: string, fields: Partial<Candidate> = {}): Named {
  return { name, weight: 1, inFlight: 0, latencyMs: undefined, cost: undefined, ...fields };
}

const names = (order: readonly Named[]) => order.map((c) => c.name).join('');

/** How often each candidate comes first over `draws` orderings. */
function firstPicks(strategy: Strategy, candidates: readonly Named[], draws = 20_000, seed = 1) {
  const random = new Random(seed);
  const next = () => random.next();
  const counts: Record<string, number> = {};
  for (const c of candidates) counts[c.name] = 0;
  for (let i = 0; i < draws; i++) {
    const first = orderCandidates(strategy, candidates, next)[0] as Named;
    counts[first.name] = (counts[first.name] as number) + 1;
  }
  return counts;
}

const strategies: Strategy[] = ['weighted', 'least-busy', 'latency', 'cost'];

test('every strategy returns every candidate exactly once, and leaves the input alone', () => {
  const random = new Random(3);
  const input = [
    candidate('a', { weight: 1, inFlight: 3, latencyMs: 100, cost: 2 }),
    candidate('b', { weight: 5, inFlight: 0, latencyMs: undefined, cost: undefined }),
    candidate('c', { weight: 2, inFlight: 1, latencyMs: 50, cost: 1 }),
    candidate('d', { weight: 0.5, inFlight: 1, latencyMs: 300, cost: 1 }),
  ];
  for (const strategy of strategies) {
    for (let i = 0; i < 200; i++) {
      const order = orderCandidates(strategy, input, () => random.next());
      assert.equal(order.length, 4);
      assert.equal(names([...order].sort((x, y) => x.name.localeCompare(y.name))), 'abcd');
    }
  }
  assert.equal(names(input), 'abcd');
});

test('zero and one candidate: no randomness used', () => {
  const noRandom = () => assert.fail('random must not be called');
  const only = candidate('a');
  for (const strategy of strategies) {
    assert.deepEqual(orderCandidates(strategy, [], noRandom), []);
    const order = orderCandidates(strategy, [only], noRandom);
    assert.equal(order.length, 1);
    assert.equal(order[0], only);
  }
});

test('weighted: the first pick follows the weights', () => {
  const counts = firstPicks('weighted', [
    candidate('a', { weight: 6 }),
    candidate('b', { weight: 3 }),
    candidate('c', { weight: 1 }),
  ]);
  assert.ok(Math.abs((counts.a as number) / 20_000 - 0.6) < 0.015, JSON.stringify(counts));
  assert.ok(Math.abs((counts.b as number) / 20_000 - 0.3) < 0.015, JSON.stringify(counts));
  assert.ok(Math.abs((counts.c as number) / 20_000 - 0.1) < 0.015, JSON.stringify(counts));
});

test('weighted: the second position is drawn from the rest by weight (no replacement)', () => {
  const random = new Random(11);
  const input = [candidate('a', { weight: 6 }), candidate('b', { weight: 3 }), candidate('c', { weight: 1 })];
  let secondB = 0;
  let firstA = 0;
  for (let i = 0; i < 20_000; i++) {
    const order = orderCandidates('weighted', input, () => random.next());
    if ((order[0] as Named).name !== 'a') continue;
    firstA++;
    if ((order[1] as Named).name === 'b') secondB++;
  }
  // Given a first, b is second with probability 3 / (3 + 1).
  assert.ok(Math.abs(secondB / firstA - 0.75) < 0.02, `${secondB / firstA}`);
});

test('weighted: exact proportions with an evenly spaced random', () => {
  let step = 0;
  const evenlySpaced = () => (step++ % 1000) / 1000;
  const counts = { a: 0, b: 0 };
  const input = [candidate('a', { weight: 3 }), candidate('b', { weight: 1 })];
  for (let i = 0; i < 1000; i++) {
    const first = orderCandidates('weighted', input, evenlySpaced)[0] as Named;
    counts[first.name as 'a' | 'b']++;
  }
  assert.deepEqual(counts, { a: 750, b: 250 });
});

test('least-busy: of the two drawn, the one with fewer in flight goes first', () => {
  // Two candidates: both are always drawn, so the less busy one always wins.
  assert.deepEqual(
    firstPicks('least-busy', [candidate('a', { inFlight: 5 }), candidate('b', { inFlight: 2 })]),
    {
      a: 0,
      b: 20_000,
    },
  );
});

test('least-busy: power of two choices, not "always the least busy"', () => {
  // Equal weights, in-flight a < b < c < d. P2C: first = the less busy of 2 random distinct ones, so
  // P(a) = 3/6, P(b) = 2/6, P(c) = 1/6, P(d) = 0. The busiest is never first; the idlest is not always.
  const counts = firstPicks('least-busy', [
    candidate('a', { inFlight: 0 }),
    candidate('b', { inFlight: 1 }),
    candidate('c', { inFlight: 2 }),
    candidate('d', { inFlight: 3 }),
  ]);
  assert.ok(Math.abs((counts.a as number) / 20_000 - 3 / 6) < 0.015, JSON.stringify(counts));
  assert.ok(Math.abs((counts.b as number) / 20_000 - 2 / 6) < 0.015, JSON.stringify(counts));
  assert.ok(Math.abs((counts.c as number) / 20_000 - 1 / 6) < 0.015, JSON.stringify(counts));
  assert.equal(counts.d, 0);
});

test('least-busy: a tie keeps the first drawn, so equal load follows the weights', () => {
  const counts = firstPicks('least-busy', [
    candidate('a', { weight: 3, inFlight: 4 }),
    candidate('b', { weight: 1, inFlight: 4 }),
  ]);
  assert.ok(Math.abs((counts.a as number) / 20_000 - 0.75) < 0.015, JSON.stringify(counts));
});

test('least-busy: after the first, the rest go by in-flight ascending', () => {
  const random = new Random(5);
  const input = [
    candidate('a', { inFlight: 9 }),
    candidate('b', { inFlight: 1 }),
    candidate('c', { inFlight: 4 }),
    candidate('d', { inFlight: 0 }),
    candidate('e', { inFlight: 7 }),
  ];
  for (let i = 0; i < 500; i++) {
    const order = orderCandidates('least-busy', input, () => random.next());
    for (let j = 2; j < order.length; j++) {
      assert.ok((order[j - 1] as Named).inFlight <= (order[j] as Named).inFlight, names(order));
    }
  }
});

test('latency: lowest EWMA first, the rest ascending (but for exploration)', () => {
  const random = new Random(9);
  const input = [
    candidate('a', { latencyMs: 300 }),
    candidate('b', { latencyMs: 100 }),
    candidate('c', { latencyMs: 200 }),
  ];
  let exact = 0;
  for (let i = 0; i < 10_000; i++)
    if (names(orderCandidates('latency', input, () => random.next())) === 'bca') exact++;
  // Exploration reorders only the front: (1 - p) of orderings are exactly by latency.
  assert.ok(Math.abs(exact / 10_000 - (1 - LATENCY_EXPLORE_PROBABILITY)) < 0.01, `${exact}`);
});

test('latency: exploration puts a random other candidate first about 5% of the time', () => {
  const counts = firstPicks('latency', [
    candidate('a', { latencyMs: 100 }),
    candidate('b', { latencyMs: 500 }),
    candidate('c', { latencyMs: 900 }),
  ]);
  const p = LATENCY_EXPLORE_PROBABILITY;
  assert.ok(Math.abs((counts.a as number) / 20_000 - (1 - p)) < 0.01, JSON.stringify(counts));
  // Uniform among the others, whatever their latency: the point is to measure them again.
  assert.ok(Math.abs((counts.b as number) / 20_000 - p / 2) < 0.008, JSON.stringify(counts));
  assert.ok(Math.abs((counts.c as number) / 20_000 - p / 2) < 0.008, JSON.stringify(counts));
});

test('latency: candidates without samples go first, in weighted order, and are not explored past', () => {
  const input = [
    candidate('fast', { latencyMs: 10 }),
    candidate('new1', { weight: 3 }),
    candidate('new2', { weight: 1 }),
    candidate('slow', { latencyMs: 1000 }),
  ];
  const counts = firstPicks('latency', input);
  assert.equal(counts.fast, 0);
  assert.equal(counts.slow, 0);
  assert.ok(Math.abs((counts.new1 as number) / 20_000 - 0.75) < 0.015, JSON.stringify(counts));
  const random = new Random(2);
  for (let i = 0; i < 200; i++) {
    assert.match(
      names(orderCandidates('latency', input, () => random.next())),
      /^(new1new2|new2new1)fastslow$/,
    );
  }
});

test('cost: cheapest first, unknown cost last, ties in weighted random order', () => {
  const random = new Random(4);
  const input = [
    candidate('x', { cost: undefined }),
    candidate('p', { cost: 5 }),
    candidate('q', { cost: 1, weight: 1 }),
    candidate('r', { cost: 1, weight: 3 }),
    candidate('y', { cost: undefined }),
  ];
  const seen = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const order = names(orderCandidates('cost', input, () => random.next()));
    assert.match(order, /^(qr|rq)p(xy|yx)$/);
    seen.set(order.slice(0, 2), (seen.get(order.slice(0, 2)) ?? 0) + 1);
  }
  assert.ok(Math.abs((seen.get('rq') ?? 0) / 4000 - 0.75) < 0.03, JSON.stringify([...seen]));
});

test('the result keeps the caller type', () => {
  const order = orderCandidates('cost', [candidate('a', { cost: 2 }), candidate('b', { cost: 1 })], () => 0);
  const first: Named = order[0] as Named;
  assert.equal(first.name, 'b');
});
