import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postJson, simulator } from './test-helpers.js';

const norm = (v: readonly number[]): number => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

test('float embeddings have the default dimensions and unit length', async (t) => {
  const { client } = await simulator(t);
  const response = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: ['hello', 'world'],
    encoding_format: 'float',
  });
  assert.equal(response.object, 'list');
  assert.equal(response.model, 'text-embedding-3-small');
  assert.equal(response.data.length, 2);
  response.data.forEach((item, index) => {
    assert.equal(item.object, 'embedding');
    assert.equal(item.index, index);
    assert.equal(item.embedding.length, 1536);
    assert.ok(Math.abs(norm(item.embedding) - 1) < 1e-4);
  });
  assert.notDeepEqual(response.data[0]?.embedding, response.data[1]?.embedding);
  assert.deepEqual(response.usage, { prompt_tokens: 4, total_tokens: 4 });
});

test('base64 embeddings (the SDK default) decode to the float vectors', async (t) => {
  const { client } = await simulator(t);
  const decoded = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'hello' });
  const vector = decoded.data[0]?.embedding ?? [];
  assert.equal(vector.length, 3072);
  assert.ok(Math.abs(norm(vector) - 1) < 1e-4);
  const floats = await client.embeddings.create({
    model: 'text-embedding-3-large',
    input: 'hello',
    encoding_format: 'float',
  });
  assert.deepEqual(vector, floats.data[0]?.embedding);

  const shortened = await client.embeddings.create({
    model: 'text-embedding-3-large',
    input: 'hello',
    dimensions: 256,
  });
  assert.equal(shortened.data[0]?.embedding.length, 256);
  assert.ok(Math.abs(norm(shortened.data[0]?.embedding ?? []) - 1) < 1e-4);
});

test('token-id inputs are accepted and bad inputs are rejected', async (t) => {
  const { sim, client } = await simulator(t);
  const ids = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: [
      [1, 2, 3],
      [4, 5],
    ],
    dimensions: 8,
  });
  assert.equal(ids.data.length, 2);
  assert.equal(ids.usage.prompt_tokens, 5);
  const single = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: [1, 2, 3],
    dimensions: 8,
  });
  assert.equal(single.data.length, 1);
  assert.deepEqual(single.data[0]?.embedding, ids.data[0]?.embedding);

  for (const body of [
    { model: 'text-embedding-3-small', input: '' },
    { model: 'text-embedding-3-small', input: [] },
    { model: 'text-embedding-3-small', input: [1, 'a'] },
    { model: 'text-embedding-3-small', input: { text: 'a' } },
    { model: 'text-embedding-3-small' },
    { model: 'text-embedding-3-small', input: 'a', encoding_format: 'hex' },
    { model: 'text-embedding-3-small', input: 'a', dimensions: 0 },
    { input: 'a' },
  ]) {
    const { status, json } = await postJson(sim, '/v1/embeddings', body);
    assert.equal(status, 400, JSON.stringify(body));
    const error = (json as { error: { type: string; param: string } }).error;
    assert.equal(error.type, 'invalid_request_error');
    assert.ok(
      ['input', 'encoding_format', 'dimensions', 'model'].includes(error.param),
      JSON.stringify(body),
    );
  }
});
