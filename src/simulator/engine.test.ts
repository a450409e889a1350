import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  embeddingBase64,
  embeddingVector,
  estimateTokens,
  generateText,
  TOKEN_DELTAS,
  TOKENS,
} from './engine.js';
import { Random } from './random.js';
import { sampleSchema } from './schema.js';

test('the seeded generator repeats itself for a seed and differs across seeds', () => {
  const draws = (seed: number): number[] => {
    const rng = new Random(seed);
    return Array.from({ length: 8 }, () => rng.next());
  };
  assert.deepEqual(draws(42), draws(42));
  assert.notDeepEqual(draws(42), draws(43));
  assert.ok(draws(1).every((v) => v >= 0 && v < 1));
});

test('tokens are words with a leading space and their deltas are valid JSON', () => {
  for (let i = 0; i < TOKENS.length; i++) {
    assert.match(TOKENS[i] as string, /^ [a-z]+$/);
    assert.deepEqual(JSON.parse(TOKEN_DELTAS[i] as string), { content: TOKENS[i] });
  }
  const text = generateText(new Random(3), 10);
  assert.equal(text.split(' ').length, 11);
});

test('estimateTokens is about a quarter of the characters', () => {
  assert.equal(estimateTokens(''), 0);
  assert.equal(estimateTokens('abcd'), 1);
  assert.equal(estimateTokens('abcde'), 2);
});

test('embeddings are deterministic unit vectors whose prefixes agree across dimensions', () => {
  const a = embeddingVector('hello', 1536);
  assert.deepEqual(a, embeddingVector('hello', 1536));
  assert.notDeepEqual(a, embeddingVector('world', 1536));
  const norm = Math.hypot(...a);
  assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
  // Shortened vectors point the same way, as text-embedding-3's do.
  const short = embeddingVector('hello', 8);
  const ratio = (short[0] as number) / (a[0] as number);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs((short[i] as number) - (a[i] as number) * ratio) < 1e-5);
  const decoded = Buffer.from(embeddingBase64(short), 'base64');
  for (let i = 0; i < 8; i++) assert.equal(decoded.readFloatLE(i * 4), short[i]);
});

test('schema samples satisfy required properties, types, enums and refs', () => {
  const schema = {
    type: 'object',
    properties: {
      city: { type: 'string' },
      days: { type: 'integer', minimum: 3 },
      ratio: { type: 'number', maximum: 0.5 },
      metric: { type: 'boolean' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      tags: { type: 'array', items: { type: 'string' } },
      when: { type: 'string', format: 'date-time' },
      nested: { $ref: '#/$defs/Nested' },
      maybe: { type: ['null', 'integer'] },
      optional: { type: 'string' },
    },
    required: ['city', 'days', 'ratio', 'metric', 'unit', 'tags', 'when', 'nested', 'maybe'],
    $defs: { Nested: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } },
    additionalProperties: false,
  };
  const value = sampleSchema(schema, new Random(1)) as Record<string, unknown>;
  assert.equal(typeof value['city'], 'string');
  assert.equal(value['days'], 3);
  assert.equal(value['ratio'], 0.5);
  assert.equal(value['metric'], true);
  assert.equal(value['unit'], 'celsius');
  assert.ok(Array.isArray(value['tags']) && typeof value['tags'][0] === 'string');
  assert.ok(!Number.isNaN(Date.parse(value['when'] as string)));
  assert.deepEqual(value['nested'], { ok: true });
  assert.equal(value['maybe'], 1);
  assert.ok(!('optional' in value));
  // Without `required`, every property is given a value.
  assert.deepEqual(Object.keys(sampleSchema({ properties: { a: {}, b: {} } }, new Random(1)) as object), [
    'a',
    'b',
  ]);
});
