/**
 * The in-process `simulator` provider, through the canonical path: canonical parts written as OpenAI SSE
 * by formats/openai-chat/write-stream.ts, proven by the official SDK parsing them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startGateway, waitFor, type TestGateway } from './helpers/gateway.js';

describe('simulator provider (canonical stream parts → OpenAI SSE)', () => {
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    gateway = await startGateway({
      providers: [
        { name: 'sim', kind: 'simulator', simulator: { output_tokens: 8 } },
        { name: 'slow', kind: 'simulator', simulator: { output_tokens: 500, tokens_per_second: 50 } },
      ],
      models: [
        { name: 'm', targets: [{ provider: 'sim', model: 'sim-model' }] },
        { name: 'slow', targets: [{ provider: 'slow', model: 'slow-model' }] },
        { name: 'e', targets: [{ provider: 'sim', model: 'text-embedding-3-large' }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'open', maxRetries: 0 });
  });
  after(() => gateway.close());

  test('a stream with include_usage: role chunk, one chunk per token, finish, usage last', async () => {
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hello world' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text.trim().split(/\s+/).length, 8);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, 8);
    assert.ok(
      chunks.slice(0, -1).every((c) => c.usage === null),
      'earlier chunks carry usage: null',
    );
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.equal(chunks[0]?.model, 'sim-model');
  });

  test('without include_usage there is no usage chunk; max_tokens caps with finish_reason length', async () => {
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      max_tokens: 3,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((c) => c.usage === undefined));
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length');
    const whole = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 3,
    });
    assert.equal(whole.choices[0]?.finish_reason, 'length');
    assert.equal(whole.usage?.completion_tokens, 3);
  });

  test('embeddings honour the model default dimensions and base64', async () => {
    const res = await client.embeddings.create({ model: 'e', input: 'abc' });
    assert.equal(res.data[0]?.embedding.length, 3072);
  });

  test('a client that leaves a paced stream ends the request at once', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'slow', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: controller.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    controller.abort();
    await waitFor(() => gateway.gateway.inFlight() === 0, 1_000, 'the gateway to drop the stream');
    const line = gateway.logs.findLast((l) => l['msg'] === 'request' && l['model'] === 'slow');
    assert.equal(line?.['status'], 499);
  });
});
