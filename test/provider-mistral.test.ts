/**
 * The `mistral` adapter end to end: the openai SDK → Sluice → an OpenAI-format upstream standing in for
 * Mistral. The simulator (recordRequests) shows the rewritten request; a stub replaying Mistral's own
 * answers (test/fixtures/mistral/) shows the `model_length` finish normalised, stream and not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-sluice-mistral-app-01';
const mistralKey = 'mistral-provider-secret-01';
const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/mistral/${name}`, import.meta.url), 'utf8');

type Json = Record<string, unknown>;

describe('openai SDK through Sluice to Mistral', () => {
  let sim: SimulatorHandle;
  let stub: Server;
  let stubBodies: Json[];
  let gateway: TestGateway;
  let client: OpenAI;
  const sent = (): Json => sim.stats.lastRequest?.body as Json;

  before(async () => {
    sim = await startSimulator({ port: 0, apiKey: mistralKey, outputTokens: 5, recordRequests: true });
    stubBodies = [];
    stub = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Json;
        stubBodies.push(body);
        if (body['stream'] === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream' }).end(fixture('stream-model-length.sse'));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(fixture('chat-model-length.json'));
        }
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/v1`;
    gateway = await startGateway({
      providers: [
        { name: 'mi', kind: 'mistral', base_url: `${sim.url}/v1`, api_key: mistralKey },
        { name: 'mi-stub', kind: 'mistral', base_url: stubUrl, api_key: mistralKey },
      ],
      models: [
        { name: 'small', targets: [{ provider: 'mi', model: 'mistral-small-latest' }] },
        { name: 'embed', targets: [{ provider: 'mi', model: 'mistral-embed' }] },
        { name: 'stubbed', targets: [{ provider: 'mi-stub', model: 'mistral-small-latest' }] },
      ],
      keys: [{ name: 'app', key: appKey }],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
    stub.closeAllConnections();
    await new Promise((resolve) => stub.close(resolve));
  });

  test('the request is rewritten for Mistral; the answer passes through', async () => {
    const answer = await client.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Hello' }],
      seed: 11,
      max_completion_tokens: 3,
      user: 'end-user-1',
      temperature: 0.1,
    });
    assert.equal(answer.choices[0]?.finish_reason, 'length');
    const body = sent();
    assert.equal(sim.stats.lastRequest?.url, '/v1/chat/completions');
    assert.equal(sim.stats.lastRequest?.headers.authorization, `Bearer ${mistralKey}`);
    assert.equal(body['random_seed'], 11);
    assert.equal(body['max_tokens'], 3);
    assert.equal(body['temperature'], 0.1);
    for (const gone of ['seed', 'max_completion_tokens', 'user']) assert.ok(!(gone in body), gone);
  });

  test('stream: stream_options is not sent (Mistral reports usage on its last chunk anyway)', async () => {
    const stream = await client.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Stream' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.ok(text.length > 0);
    assert.equal(sent()['stream'], true);
    assert.ok(!('stream_options' in sent()));
  });

  test('tool_choice "required" goes up as "any"', async () => {
    await client.chat.completions.create({
      model: 'stubbed',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    });
    assert.equal(stubBodies.at(-1)?.['tool_choice'], 'any');
  });

  test('model_length reaches the client as length, stream and not', async () => {
    const answer = await client.chat.completions.create({
      model: 'stubbed',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'length');
    assert.match(answer.choices[0]?.message.content ?? '', /"model_length" finish/);
    const stream = await client.chat.completions.create({
      model: 'stubbed',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 2);
  });

  test('embeddings: dimensions becomes output_dimension', async () => {
    const result = await client.embeddings.create({ model: 'embed', input: ['a', 'b'], dimensions: 64 });
    assert.equal(result.data.length, 2);
    assert.equal(sim.stats.lastRequest?.url, '/v1/embeddings');
    assert.equal(sent()['output_dimension'], 64);
    assert.ok(!('dimensions' in sent()));
  });

  test('what Mistral cannot do is refused with 400 before anything goes upstream', async () => {
    sim.resetStats();
    for (const extra of [
      { logprobs: true },
      { logit_bias: { '1': 5 } },
      { reasoning_effort: 'high' as const },
    ]) {
      await assert.rejects(
        client.chat.completions.create({
          model: 'small',
          messages: [{ role: 'user', content: 'x' }],
          ...extra,
        }),
        (error: unknown) =>
          error instanceof APIError &&
          error.status === 400 &&
          /not supported by provider mi/.test(error.message),
      );
    }
    assert.equal(sim.stats.requests, 0);
  });
});
