/**
 * The `cohere` adapter end to end: the openai SDK → Sluice → the simulator in Cohere's v2 format. Every
 * answer is translated (Cohere speaks no inbound format), so this checks the request Cohere receives and the
 * OpenAI answer the client gets back, stream and not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-sluice-cohere-app-01';
const cohereKey = 'co-provider-secret-01';

type Json = Record<string, unknown>;

const tools: OpenAI.Chat.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

describe('openai SDK through Sluice to Cohere (simulated)', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: OpenAI;
  const sent = (): Json => sim.stats.lastRequest?.body as Json;

  before(async () => {
    sim = await startSimulator({
      port: 0,
      format: 'cohere',
      apiKey: cohereKey,
      outputTokens: 10,
      recordRequests: true,
    });
    gateway = await startGateway({
      providers: [
        { name: 'co', kind: 'cohere', base_url: sim.url, api_key: cohereKey },
        { name: 'co-bad-key', kind: 'cohere', base_url: sim.url, api_key: 'wrong' },
      ],
      models: [
        { name: 'command', targets: [{ provider: 'co', model: 'command-a-03-2025' }] },
        { name: 'embed', targets: [{ provider: 'co', model: 'embed-v4.0' }] },
        { name: 'bad-key', targets: [{ provider: 'co-bad-key', model: 'command-a-03-2025' }] },
      ],
      keys: [{ name: 'app', key: appKey }],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('non-stream: Cohere request shape, OpenAI answer, usage from the bill', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'command',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello' },
          { role: 'assistant', content: 'Hi! How can I help?' },
          { role: 'user', content: 'Tell me a fact' },
        ],
        temperature: 0.4,
        top_p: 0.8,
        seed: 3,
      })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.equal(data.choices[0]?.message.content?.trim().split(' ').length, 10);
    assert.equal(data.usage?.completion_tokens, 10);
    assert.ok((data.usage?.prompt_tokens ?? 0) > 0);
    assert.equal(response.headers.get('x-sluice-provider'), 'co');
    const recorded = sim.stats.lastRequest;
    assert.equal(recorded?.url, '/v2/chat');
    assert.equal(recorded?.headers.authorization, `Bearer ${cohereKey}`);
    assert.deepEqual(sent(), {
      model: 'command-a-03-2025',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi! How can I help?' },
        { role: 'user', content: 'Tell me a fact' },
      ],
      temperature: 0.4,
      p: 0.8,
      seed: 3,
    });
  });

  test('stream: the same text as non-stream, a finish, and usage at the end', async () => {
    const messages = [{ role: 'user' as const, content: 'Stream the same' }];
    const whole = await client.chat.completions.create({ model: 'command', messages });
    const stream = await client.chat.completions.create({
      model: 'command',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(sent()['stream'], true);
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 10);
  });

  test('max_tokens cuts the answer: finish length; stop becomes stop_sequences', async () => {
    const answer = await client.chat.completions.create({
      model: 'command',
      messages: [{ role: 'user', content: 'Long' }],
      max_tokens: 4,
      stop: ['\n\n'],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'length');
    assert.equal(answer.usage?.completion_tokens, 4);
    assert.equal(sent()['max_tokens'], 4);
    assert.deepEqual(sent()['stop_sequences'], ['\n\n']);
  });

  test('tools: a forced call comes back as OpenAI tool_calls, stream and not; the result goes back', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Oslo?' },
    ];
    const answer = await client.chat.completions.create({
      model: 'command',
      messages,
      tools,
      tool_choice: 'required',
    });
    assert.equal(sent()['tool_choice'], 'REQUIRED');
    const choice = answer.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    const call = choice?.message.tool_calls?.[0];
    assert.ok(call !== undefined && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof (JSON.parse(call.function.arguments) as { city: unknown }).city, 'string');

    const stream = await client.chat.completions.create({
      model: 'command',
      messages,
      tools,
      tool_choice: 'required',
      stream: true,
    });
    let args = '';
    let id: string | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.tool_calls?.[0];
      id ??= delta?.id;
      args += delta?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(id, call.id);
    assert.equal(args, call.function.arguments);
    assert.equal(finish, 'tool_calls');

    const followUp = await client.chat.completions.create({
      model: 'command',
      messages: [
        ...messages,
        { role: 'assistant', content: choice?.message.content ?? null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temperature": 4}' },
      ],
      tools,
    });
    assert.equal(followUp.choices[0]?.finish_reason, 'stop');
    const turns = sent()['messages'] as Json[];
    assert.deepEqual(turns[1]?.['tool_calls'], [
      {
        id: call.id,
        type: 'function',
        function: { name: 'get_weather', arguments: call.function.arguments },
      },
    ]);
    assert.equal(turns[1]?.['tool_plan'], choice?.message.content);
    assert.deepEqual(turns[2], { role: 'tool', tool_call_id: call.id, content: '{"temperature": 4}' });
  });

  test('structured output: json_schema becomes json_object with the schema; the answer satisfies it', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name', 'age'],
    };
    const answer = await client.chat.completions.create({
      model: 'command',
      messages: [{ role: 'user', content: 'A person' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema } },
    });
    assert.deepEqual(sent()['response_format'], { type: 'json_object', json_schema: schema });
    const person = JSON.parse(answer.choices[0]?.message.content ?? '') as { name: unknown; age: unknown };
    assert.equal(typeof person.name, 'string');
    assert.ok(Number.isInteger(person.age));
  });

  test('embeddings: input_type search_document by default, base64 for the SDK, billed usage', async () => {
    const result = await client.embeddings.create({ model: 'embed', input: ['one', 'two'], dimensions: 256 });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]?.embedding.length, 256);
    const norm = Math.sqrt(result.data[0]!.embedding.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3);
    assert.ok(result.usage.prompt_tokens > 0);
    assert.equal(sim.stats.lastRequest?.url, '/v2/embed');
    assert.deepEqual(sent(), {
      model: 'embed-v4.0',
      texts: ['one', 'two'],
      input_type: 'search_document',
      embedding_types: ['float'],
      output_dimension: 256,
    });
  });

  test('what Cohere cannot do is a 400 unsupported_feature, and nothing goes upstream', async () => {
    sim.resetStats();
    await assert.rejects(
      client.chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'x' }], n: 2 }),
      (error: unknown) =>
        error instanceof APIError &&
        error.status === 400 &&
        /"n" is not supported by provider co/.test(error.message),
    );
    await assert.rejects(
      client.chat.completions.create({
        model: 'command',
        messages: [{ role: 'user', content: 'x' }],
        tools,
        parallel_tool_calls: false,
      }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && error.param === 'parallel_tool_calls',
    );
    assert.equal(sim.stats.requests, 0);
  });

  test('errors: Cohere 400 keeps its message, 429 keeps Retry-After, a bad key is 502 without it', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'command',
        messages: [{ role: 'user', content: '' }],
      }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && /message must not be empty/.test(error.message),
    );
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 7 });
    try {
      await assert.rejects(
        client.chat.completions.create({ model: 'command', messages: [{ role: 'user', content: 'x' }] }),
        (error: unknown) =>
          error instanceof APIError && error.status === 429 && error.headers?.get('retry-after') === '7',
      );
    } finally {
      sim.setOptions({ rateLimitRate: 0 });
    }
    await assert.rejects(
      client.chat.completions.create({ model: 'bad-key', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof APIError && error.status === 502 && !/invalid api token/.test(error.message),
    );
  });
});
