/**
 * The `azure` adapter end to end: the openai SDK → Sluice → the simulator's Azure paths. OpenAI clients get
 * Azure's bytes passed through; the upstream sees the deployment path, the api-version and the api-key
 * header, never an Authorization header. Azure's content-filter refusals are replayed from fixtures by a stub.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-sluice-azure-app-01';
const azureKey = 'azure-provider-secret-01';
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/azure/${name}`, import.meta.url), 'utf8');

/** An upstream that answers every request with one canned status and body. */
async function stub(status: number, body: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('openai SDK through Sluice to Azure OpenAI (simulated)', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: OpenAI;
  const stubs: Server[] = [];

  before(async () => {
    sim = await startSimulator({ port: 0, apiKey: azureKey, outputTokens: 8, recordRequests: true });
    const refusing = await stub(400, fixture('error-content-filter.json'));
    const filtered = await stub(200, fixture('chat-content-filter.json'));
    stubs.push(refusing.server, filtered.server);
    gateway = await startGateway({
      providers: [
        { name: 'az', kind: 'azure', base_url: sim.url, api_key: azureKey, api_version: '2024-10-21' },
        {
          name: 'az-v1',
          kind: 'azure',
          base_url: `${sim.url}/openai/v1`,
          api_key: azureKey,
          api_version: 'v1',
        },
        { name: 'az-refusing', kind: 'azure', base_url: refusing.url, api_key: azureKey },
        { name: 'az-filtered', kind: 'azure', base_url: filtered.url, api_key: azureKey },
      ],
      models: [
        { name: 'gpt', targets: [{ provider: 'az', model: 'my-gpt4o' }] },
        { name: 'gpt-v1', targets: [{ provider: 'az-v1', model: 'my-gpt4o' }] },
        { name: 'embed', targets: [{ provider: 'az', model: 'my-embedding' }] },
        { name: 'refusing', targets: [{ provider: 'az-refusing', model: 'd' }] },
        { name: 'filtered', targets: [{ provider: 'az-filtered', model: 'd' }] },
      ],
      keys: [{ name: 'app', key: appKey }],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
    for (const server of stubs) server.close();
  });

  test('chat goes to the deployment path with api-version and api-key, never Authorization', async () => {
    const answer = await client.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    assert.equal(answer.usage?.completion_tokens, 8);
    const recorded = sim.stats.lastRequest;
    assert.equal(recorded?.url, '/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21');
    assert.equal(recorded?.headers['api-key'], azureKey);
    assert.equal(recorded?.headers.authorization, undefined);
    assert.ok(!JSON.stringify(recorded?.headers).includes(appKey));
  });

  test('stream passes through with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: 'Stream' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      usage = chunk.usage ?? usage;
    }
    assert.ok(chunks >= 8);
    assert.equal(usage?.completion_tokens, 8);
    assert.equal((sim.stats.lastRequest?.body as { stream?: unknown }).stream, true);
  });

  test('embeddings on the deployment path', async () => {
    const result = await client.embeddings.create({ model: 'embed', input: 'text' });
    assert.equal(result.data[0]?.embedding.length, 1536);
    assert.equal(
      sim.stats.lastRequest?.url,
      '/openai/deployments/my-embedding/embeddings?api-version=2024-10-21',
    );
  });

  test('api_version v1: /openai/v1 with the deployment as the body model (base_url suffix tolerated)', async () => {
    const answer = await client.chat.completions.create({
      model: 'gpt-v1',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    assert.equal(sim.stats.lastRequest?.url, '/openai/v1/chat/completions');
    assert.equal((sim.stats.lastRequest?.body as { model?: unknown }).model, 'my-gpt4o');
  });

  test('content filter: a finish_reason passes through; a 400 refusal keeps its message', async () => {
    const filtered = await client.chat.completions.create({
      model: 'filtered',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(filtered.choices[0]?.finish_reason, 'content_filter');
    await assert.rejects(
      client.chat.completions.create({ model: 'refusing', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && /content management policy/.test(error.message),
    );
  });

  test('a wrong resource key is a 502 that does not echo Azure’s message', async () => {
    const bad = await startGateway({
      providers: [{ name: 'az', kind: 'azure', base_url: sim.url, api_key: 'wrong' }],
      models: [{ name: 'gpt', targets: [{ provider: 'az', model: 'my-gpt4o' }] }],
      keys: [{ name: 'app', key: appKey }],
    });
    try {
      const badClient = new OpenAI({ baseURL: `${bad.url}/v1`, apiKey: appKey, maxRetries: 0 });
      await assert.rejects(
        badClient.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
        (error: unknown) =>
          error instanceof APIError && error.status === 502 && !/Access denied/.test(error.message),
      );
    } finally {
      await bad.close();
    }
  });
});
