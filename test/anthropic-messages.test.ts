/**
 * The Anthropic-compatible endpoint end to end: the official @anthropic-ai/sdk → Sluice `/v1/messages` →
 * an OpenAI-format upstream (the simulator) and the in-process simulator provider. Translation both ways,
 * the full streaming event sequence, tools, errors in Anthropic's format. The same endpoint against the
 * other providers is covered in the provider-*.test.ts files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, upstream, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-sluice-anthropic-app-01';
const providerKey = 'sk-provider-secret-123';

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
    required: ['city', 'unit'],
  },
};

describe('@anthropic-ai/sdk through /v1/messages', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: Anthropic;

  before(async () => {
    sim = await startSimulator({ port: 0, apiKey: providerKey, outputTokens: 10, recordRequests: true });
    gateway = await startGateway({
      providers: [
        upstream('sim', sim.url),
        { name: 'local', kind: 'simulator', simulator: { output_tokens: 7 } },
      ],
      models: [
        { name: 'gpt-via-anthropic', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] },
        { name: 'local-model', targets: [{ provider: 'local', model: 'local-sim' }] },
      ],
      keys: [{ name: 'app', key: appKey }],
    });
    client = new Anthropic({ baseURL: gateway.url, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('non-stream: an OpenAI upstream answers as an Anthropic message', async () => {
    const { data, response } = await client.messages
      .create({
        model: 'gpt-via-anthropic',
        max_tokens: 100,
        system: 'You are terse.',
        messages: [{ role: 'user', content: 'Hello' }],
      })
      .withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.role, 'assistant');
    assert.match(data.id, /^msg_/);
    assert.equal(data.stop_reason, 'end_turn');
    const block = data.content[0];
    assert.equal(block?.type, 'text');
    assert.ok(block?.type === 'text' && block.text.length > 0);
    assert.equal(data.usage.output_tokens, 10);
    assert.ok(data.usage.input_tokens > 0);
    assert.equal(response.headers.get('x-sluice-provider'), 'sim');
    // The upstream saw the canonical OpenAI request: system first, max tokens carried over.
    const sent = sim.stats.lastRequest?.body as Record<string, unknown>;
    assert.deepEqual((sent['messages'] as unknown[])[0], { role: 'system', content: 'You are terse.' });
    assert.equal(sent['max_completion_tokens'], 100);
    assert.equal(sim.stats.lastRequest?.headers.authorization, `Bearer ${providerKey}`);
  });

  test('max_tokens below the answer length stops with max_tokens', async () => {
    const message = await client.messages.create({
      model: 'gpt-via-anthropic',
      max_tokens: 3,
      messages: [{ role: 'user', content: 'Tell me everything' }],
    });
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.output_tokens, 3);
  });

  test('stream: the full event sequence, assembled by the SDK', async () => {
    const stream = client.messages.stream({
      model: 'gpt-via-anthropic',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Stream to me' }],
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    const final = await stream.finalMessage();
    assert.equal(types[0], 'message_start');
    assert.equal(types[1], 'content_block_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.equal(types.at(-2), 'message_delta');
    assert.ok(types.filter((t) => t === 'content_block_delta').length >= 10);
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, 10);
    assert.equal((final.content[0] as Anthropic.TextBlock).text, text);
    // The canonical stream asked the upstream for its usage chunk.
    const sent = sim.stats.lastRequest?.body as Record<string, unknown>;
    assert.deepEqual(sent['stream_options'], { include_usage: true });
  });

  test('a forced tool: tool_use blocks with parsed input, stream and non-stream', async () => {
    const request = {
      model: 'gpt-via-anthropic',
      max_tokens: 200,
      tools: [weather],
      tool_choice: { type: 'tool' as const, name: 'get_weather' },
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
    };
    const message = await client.messages.create(request);
    assert.equal(message.stop_reason, 'tool_use');
    const use = message.content.find((b) => b.type === 'tool_use');
    assert.ok(use?.type === 'tool_use');
    assert.equal(use.name, 'get_weather');
    const input = use.input as { city: unknown; unit: unknown };
    assert.equal(typeof input.city, 'string');
    assert.ok(input.unit === 'c' || input.unit === 'f');
    const sent = sim.stats.lastRequest?.body as Record<string, unknown>;
    assert.deepEqual(sent['tool_choice'], { type: 'function', function: { name: 'get_weather' } });

    const stream = client.messages.stream(request);
    let jsonDeltas = 0;
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') jsonDeltas++;
    }
    const final = await stream.finalMessage();
    assert.ok(jsonDeltas > 1, 'arguments arrive as several input_json_delta events');
    const streamed = final.content.find((b) => b.type === 'tool_use');
    assert.ok(streamed?.type === 'tool_use');
    assert.equal(typeof (streamed.input as { city: unknown }).city, 'string');
    assert.equal(final.stop_reason, 'tool_use');
  });

  test('tool results and images reach the upstream in OpenAI shape', async () => {
    await client.messages.create({
      model: 'gpt-via-anthropic',
      max_tokens: 50,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', unit: 'c' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01', content: '18 degrees' },
            { type: 'text', text: 'And this picture?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    const sent = sim.stats.lastRequest?.body as { messages: Record<string, unknown>[] };
    assert.deepEqual(sent.messages[1], {
      role: 'assistant',
      content: 'Checking.',
      tool_calls: [
        {
          id: 'toolu_01',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
        },
      ],
    });
    assert.deepEqual(sent.messages[2], { role: 'tool', tool_call_id: 'toolu_01', content: '18 degrees' });
    assert.deepEqual(sent.messages[3], {
      role: 'user',
      content: [
        { type: 'text', text: 'And this picture?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ],
    });
  });

  test('the in-process simulator provider streams through the Anthropic writer', async () => {
    const stream = client.messages.stream({
      model: 'local-model',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const final = await stream.finalMessage();
    assert.equal(final.usage.output_tokens, 7);
    assert.equal(final.content.length, 1);
    assert.equal(final.stop_reason, 'end_turn');
  });

  test('bad input is a 400 in Anthropic format naming the field', async () => {
    await assert.rejects(
      client.messages.create({
        model: 'gpt-via-anthropic',
        messages: [{ role: 'user', content: 'x' }],
      } as never),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError);
        const body = error.error as { type: string; error: { type: string; message: string } };
        assert.equal(body.type, 'error');
        assert.equal(body.error.type, 'invalid_request_error');
        assert.match(body.error.message, /^max_tokens: /);
        return true;
      },
    );
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': appKey },
      body: JSON.stringify({
        model: 'gpt-via-anthropic',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'text' }] }],
      }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { message: string } };
    assert.match(body.error.message, /^messages\.0\.content\.0\.text: expected a string/);
  });

  test('a block the target provider cannot take is refused, naming it and the provider', async () => {
    await assert.rejects(
      client.messages.create({
        model: 'gpt-via-anthropic',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' } },
              { type: 'text', text: 'Summarise' },
            ],
          },
        ],
      }),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.BadRequestError);
        const body = error.error as { error: { message: string } };
        assert.equal(
          body.error.message,
          'the Anthropic "document" content block is not supported by provider sim',
        );
        return true;
      },
    );
  });

  test('structured output reaches a non-Anthropic upstream as response_format; Anthropic-only fields are refused', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    };
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': appKey },
      body: JSON.stringify({
        model: 'gpt-via-anthropic',
        max_tokens: 50,
        output_config: { format: { type: 'json_schema', schema } },
        messages: [{ role: 'user', content: 'Where?' }],
      }),
    });
    assert.equal(response.status, 200);
    const message = (await response.json()) as { content: { type: string; text: string }[] };
    const parsed = JSON.parse(message.content[0]?.text ?? '') as { city: unknown };
    assert.equal(typeof parsed.city, 'string');
    const sent = sim.stats.lastRequest?.body as Record<string, unknown>;
    assert.deepEqual(sent['response_format'], {
      type: 'json_schema',
      json_schema: { name: 'response', schema, strict: true },
    });

    const refused = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': appKey },
      body: JSON.stringify({
        model: 'gpt-via-anthropic',
        max_tokens: 50,
        mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'x' }],
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    });
    assert.equal(refused.status, 400);
    const body = (await refused.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.message, 'the Anthropic "mcp_servers" field is not supported by provider sim');
  });

  test('auth, unknown models and upstream failures answer in Anthropic format', async () => {
    const stranger = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(
      stranger.messages.create({
        model: 'gpt-via-anthropic',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      Anthropic.AuthenticationError,
    );
    await assert.rejects(
      client.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) => error instanceof Anthropic.NotFoundError && /nope/.test(error.message),
    );
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 7 });
    try {
      await assert.rejects(
        client.messages.create({
          model: 'gpt-via-anthropic',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        }),
        (error: unknown) => {
          assert.ok(error instanceof Anthropic.RateLimitError);
          assert.equal(error.headers?.get('retry-after'), '7');
          assert.equal((error.error as { error: { type: string } }).error.type, 'rate_limit_error');
          return true;
        },
      );
      sim.setOptions({ rateLimitRate: 0, overloadRate: 1 });
      await assert.rejects(
        client.messages.create({
          model: 'gpt-via-anthropic',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
        }),
        (error: unknown) => {
          assert.ok(error instanceof Anthropic.APIError);
          assert.equal(error.status, 503);
          assert.equal((error.error as { error: { type: string } }).error.type, 'overloaded_error');
          assert.ok(error.headers?.get('retry-after') !== null);
          return true;
        },
      );
    } finally {
      sim.setOptions({ rateLimitRate: 0, overloadRate: 0 });
    }
  });

  test('a stream cut midway ends with an error event the SDK raises', async () => {
    sim.setOptions({ streamCutRate: 1, seed: 3 });
    try {
      const stream = client.messages.stream({
        model: 'gpt-via-anthropic',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Stream to me' }],
      });
      await assert.rejects(stream.finalMessage(), (error: unknown) => {
        assert.ok(error instanceof Anthropic.APIError);
        assert.match(error.message, /ended the stream early|cut the stream/);
        return true;
      });
    } finally {
      sim.setOptions({ streamCutRate: 0 });
    }
  });
});
