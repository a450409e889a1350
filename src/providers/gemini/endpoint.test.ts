import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderConfig } from '../../config/schema.js';
import { geminiEndpoint, normaliseModel } from './endpoint.js';

const config = (extra: Partial<ProviderConfig>): ProviderConfig =>
  ({ name: 'g', kind: 'gemini', api_key: 'k', ...extra }) as ProviderConfig;

test('Gemini API: default origin, v1beta paths, the key in x-goog-api-key', () => {
  const endpoint = geminiEndpoint(config({}));
  assert.equal(endpoint.baseUrl, 'https://generativelanguage.googleapis.com');
  assert.equal(
    endpoint.path('models/gemini-2.5-flash', 'generateContent'),
    '/v1beta/models/gemini-2.5-flash:generateContent',
  );
  assert.equal(
    endpoint.path('gemini-2.5-flash', 'streamGenerateContent'),
    '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
  );
  assert.deepEqual(endpoint.headers, ['content-type', 'application/json', 'x-goog-api-key', 'k']);
});

test('a base_url naming the version gets no second one', () => {
  const endpoint = geminiEndpoint(config({ base_url: 'https://proxy.example/google/v1beta' }));
  assert.equal(endpoint.path('m', 'batchEmbedContents'), '/models/m:batchEmbedContents');
});

test('Vertex AI: regional origin (global has none), project path, Bearer token', () => {
  const regional = geminiEndpoint(config({ vertex: { project: 'p', location: 'us-east5' } }));
  assert.equal(regional.baseUrl, 'https://us-east5-aiplatform.googleapis.com');
  assert.equal(
    regional.path('publishers/google/models/gemini-2.5-pro', 'predict'),
    '/v1/projects/p/locations/us-east5/publishers/google/models/gemini-2.5-pro:predict',
  );
  assert.deepEqual(regional.headers, ['content-type', 'application/json', 'authorization', 'Bearer k']);
  assert.equal(
    geminiEndpoint(config({ vertex: { project: 'p', location: 'global' } })).baseUrl,
    'https://aiplatform.googleapis.com',
  );
});

test('model ids are normalised', () => {
  assert.equal(normaliseModel('models/gemini-2.5-flash'), 'gemini-2.5-flash');
  assert.equal(normaliseModel('gemini-2.5-flash'), 'gemini-2.5-flash');
});
