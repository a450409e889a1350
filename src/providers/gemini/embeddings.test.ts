import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isGatewayError } from '../../errors/gateway-error.js';
import {
  embeddingsFromBatch,
  embeddingsFromPredict,
  toBatchEmbedRequest,
  toVertexPredictRequest,
} from './embeddings.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../../test/fixtures/gemini/${name}`, import.meta.url), 'utf8'));

test('batchEmbedContents: one request per input, vectors back in order, usage estimated', () => {
  const request = toBatchEmbedRequest(
    { model: 'e', input: ['abcdefgh', 'abc'], dimensions: 3 },
    'gemini-embedding-001',
    'gem',
  );
  assert.deepEqual(request.body, {
    requests: [
      {
        model: 'models/gemini-embedding-001',
        content: { parts: [{ text: 'abcdefgh' }] },
        outputDimensionality: 3,
      },
      {
        model: 'models/gemini-embedding-001',
        content: { parts: [{ text: 'abc' }] },
        outputDimensionality: 3,
      },
    ],
  });
  const response = embeddingsFromBatch(fixture('batch-embed.json'), request, 'gemini-embedding-001', 'gem');
  assert.deepEqual(response.vectors, [
    [0.25, -0.5, 0.125],
    [1, 0, -1],
  ]);
  assert.deepEqual(response.usage, { inputTokens: 3, outputTokens: 0 });
});

test('base64: little-endian float32', () => {
  const request = toBatchEmbedRequest(
    { model: 'e', input: ['a', 'b'], encoding_format: 'base64' },
    'm',
    'gem',
  );
  const response = embeddingsFromBatch(fixture('batch-embed.json'), request, 'm', 'gem');
  const bytes = Buffer.from(response.vectors[0] as string, 'base64');
  assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)], [0.25, -0.5, 0.125]);
});

test('Vertex predict: instances, parameters, token counts from statistics', () => {
  const request = toVertexPredictRequest({ model: 'e', input: ['one', 'two'], dimensions: 2 }, 'vx');
  assert.deepEqual(request.body, {
    instances: [{ content: 'one' }, { content: 'two' }],
    parameters: { outputDimensionality: 2 },
  });
  const response = embeddingsFromPredict(fixture('vertex-predict.json'), request, 'text-embedding-005', 'vx');
  assert.deepEqual(response.vectors, [
    [0.1, 0.2],
    [0.3, 0.4],
  ]);
  assert.equal(response.usage.inputTokens, 8);
});

test("token-id inputs are refused; a count mismatch is the provider's fault", () => {
  assert.throws(
    () => toBatchEmbedRequest({ model: 'e', input: [1, 2, 3] }, 'm', 'gem'),
    (error: unknown) => isGatewayError(error) && error.kind === 'unsupported_feature',
  );
  const request = toBatchEmbedRequest({ model: 'e', input: ['only one'] }, 'm', 'gem');
  assert.throws(
    () => embeddingsFromBatch(fixture('batch-embed.json'), request, 'm', 'gem'),
    (error: unknown) => isGatewayError(error) && error.kind === 'upstream_error',
  );
});
