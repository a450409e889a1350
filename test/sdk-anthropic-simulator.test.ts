/**
 * Fidelity of the simulator's anthropic format, proven by the official @anthropic-ai/sdk pointed at it:
 * whatever the SDK parses, assembles from a stream or raises as a typed error here, it would parse the
 * same from api.anthropic.com.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';

const apiKey = 'sk-ant-simulator-key-0001';
const model = 'claude-sonnet-4-5-20250929';

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
    required: ['city', 'days'],
  },
};
const timeTool: Anthropic.Tool = {
  name: 'get_time',
  input_schema: {
    type: 'object',
    properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } },
    required: ['zone'],
  },
};

const textOf = (message: Anthropic.Message): string =>
  message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');

describe('@anthropic-ai/sdk against the simulator (--format anthropic)', () => {
  let sim: SimulatorHandle;
  let client: Anthropic;

  before(async () => {
    sim = await startSimulator({
      format: 'anthropic',
      port: 0,
      apiKey,
      outputTokens: 12,
      recordRequests: true,
    });
    client = new Anthropic({ baseURL: sim.url, apiKey, maxRetries: 0 });
  });
  after(() => sim.close());

  const ask = (extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}): Promise<Anthropic.Message> =>
    client.messages.create({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello, Claude' }],
      ...extra,
    });

  test('non-stream message: text, end_turn, usage and the request-id header', async () => {
    const { data, response } = await client.messages
      .create({ model, max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.role, 'assistant');
    assert.equal(data.model, model);
    assert.match(data.id, /^msg_01/);
    assert.equal(data.stop_reason, 'end_turn');
    assert.equal(data.content.length, 1);
    assert.equal(data.content[0]?.type, 'text');
    assert.equal(textOf(data).trim().split(' ').length, 12);
    assert.equal(data.usage.output_tokens, 12);
    assert.ok(data.usage.input_tokens > 0);
    assert.equal(data.usage.cache_read_input_tokens, 0);
    assert.match(response.headers.get('request-id') ?? '', /^req_/);
    // SDK 1.x speaks API version 2026-10-21 and sends the key as a Bearer token.
    assert.equal(sim.stats.lastRequest?.headers['authorization'], `Bearer ${apiKey}`);
    assert.equal(sim.stats.lastRequest?.headers['anthropic-version'], '2026-10-21');
  });

  test('messages.stream assembles the same message the non-stream call returns', async () => {
    const whole = await ask();
    const stream = client.messages.stream({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello, Claude' }],
    });
    let deltas = 0;
    let streamed = '';
    stream.on('text', (text) => {
      deltas++;
      streamed += text;
    });
    const final = await stream.finalMessage();
    assert.equal(deltas, 12);
    assert.equal(streamed, textOf(whole));
    assert.equal(textOf(final), textOf(whole));
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, 12);
    assert.equal(final.usage.input_tokens, whole.usage.input_tokens);
  });

  test('raw stream events come in the documented order', async () => {
    const stream = await client.messages.create({
      model,
      max_tokens: 256,
      stream: true,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    assert.deepEqual(types.slice(0, 2), ['message_start', 'content_block_start']);
    assert.deepEqual(types.slice(-3), ['content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(types.filter((t) => t === 'content_block_delta').length, 12);
  });

  test('tool_choice any calls every tool with input satisfying its schema; streamed input is parsed', async () => {
    const message = await ask({ tools: [weatherTool, timeTool], tool_choice: { type: 'any' } });
    assert.equal(message.stop_reason, 'tool_use');
    const uses = message.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    assert.deepEqual(
      uses.map((u) => u.name),
      ['get_weather', 'get_time'],
    );
    const weather = uses[0]?.input as { city: unknown; days: unknown };
    assert.equal(typeof weather.city, 'string');
    assert.ok(Number.isInteger(weather.days));
    assert.ok(['UTC', 'CET'].includes((uses[1]?.input as { zone: string }).zone));
    assert.match(uses[0]?.id ?? '', /^toolu_01/);

    const stream = client.messages.stream({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello, Claude' }],
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'any' },
    });
    let jsonDeltas = 0;
    stream.on('inputJson', () => jsonDeltas++);
    const final = await stream.finalMessage();
    assert.deepEqual(final.content, message.content);
    assert.ok(jsonDeltas > 2);
  });

  test('a named tool choice, and disable_parallel_tool_use, call one tool', async () => {
    const named = await ask({
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'tool', name: 'get_time' },
    });
    assert.deepEqual(
      named.content.map((b) => (b.type === 'tool_use' ? b.name : b.type)),
      ['get_time'],
    );
    const single = await ask({
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    });
    assert.equal(single.content.length, 1);
    const auto = await ask({ tools: [weatherTool] });
    assert.equal(auto.stop_reason, 'end_turn');
  });

  test('a tool result round trip is accepted; a tool_result without its tool_use is refused', async () => {
    const call = await ask({ tools: [weatherTool], tool_choice: { type: 'any' } });
    const use = call.content[0] as Anthropic.ToolUseBlock;
    const answer = await ask({
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: call.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
      ],
    });
    assert.equal(answer.stop_reason, 'end_turn');
    await assert.rejects(
      ask({
        messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: 'Let me see.' },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }] },
        ],
      }),
      (error: unknown) =>
        error instanceof Anthropic.BadRequestError &&
        /unexpected `tool_use_id` found in `tool_result` blocks: toolu_nope/.test(error.message),
    );
  });

  test('extended thinking: a signed thinking block first, streamed as thinking and signature deltas', async () => {
    const params = {
      model,
      max_tokens: 2048,
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      messages: [{ role: 'user' as const, content: 'Think first' }],
    };
    const message = await client.messages.create(params);
    assert.deepEqual(
      message.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    const thinking = message.content[0] as Anthropic.ThinkingBlock;
    assert.ok(thinking.thinking.length > 0);
    assert.ok(thinking.signature.length > 20);
    assert.equal(message.usage.output_tokens, 12 + 6);

    const stream = client.messages.stream(params);
    let thought = '';
    let signature = '';
    stream.on('thinking', (delta) => (thought += delta));
    stream.on('signature', (s) => (signature = s));
    const final = await stream.finalMessage();
    assert.equal(thought, thinking.thinking);
    assert.equal(signature, thinking.signature);
    assert.deepEqual(final.content, message.content);
  });

  test('thinking needs max_tokens above its budget, and no forced tool', async () => {
    await assert.rejects(
      ask({ max_tokens: 1024, thinking: { type: 'enabled', budget_tokens: 1024 } }),
      (error: unknown) =>
        error instanceof Anthropic.BadRequestError &&
        /must be greater than `thinking.budget_tokens`/.test(error.message),
    );
    await assert.rejects(
      ask({
        max_tokens: 4096,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        tools: [weatherTool],
        tool_choice: { type: 'any' },
      }),
      /Thinking may not be enabled when tool_choice forces tool use/,
    );
  });

  test('stop sequences cut the text where the sequence first appears', async () => {
    const free = await ask({ max_tokens: 256 });
    const text = textOf(free);
    const stop = text.split(' ').slice(0, 6)[5] as string;
    const cut = await ask({ stop_sequences: [` ${stop}`] });
    assert.equal(cut.stop_reason, 'stop_sequence');
    assert.equal(cut.stop_sequence, ` ${stop}`);
    assert.equal(textOf(cut), text.slice(0, text.indexOf(` ${stop}`)));
    const streamed = await client.messages
      .stream({
        model,
        max_tokens: 256,
        stop_sequences: [` ${stop}`],
        messages: [{ role: 'user', content: 'Hello, Claude' }],
      })
      .finalMessage();
    assert.equal(streamed.stop_sequence, ` ${stop}`);
    assert.equal(textOf(streamed), textOf(cut));
  });

  test('max_tokens caps the answer with stop_reason max_tokens', async () => {
    const message = await ask({ max_tokens: 5 });
    assert.equal(message.stop_reason, 'max_tokens');
    assert.equal(message.usage.output_tokens, 5);
    assert.equal(textOf(message).trim().split(' ').length, 5);
  });

  test('structured output (output_config.format) answers JSON satisfying the schema', async () => {
    const message = await ask({
      output_config: {
        format: {
          type: 'json_schema',
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, age: { type: 'integer' } },
            required: ['name', 'age'],
            additionalProperties: false,
          },
        },
      },
    });
    const value = JSON.parse(textOf(message)) as { name: unknown; age: unknown };
    assert.equal(typeof value.name, 'string');
    assert.ok(Number.isInteger(value.age));
  });

  test('prompt caching: the first request writes the cached prefix, the next reads it', async () => {
    const system: Anthropic.TextBlockParam[] = [
      {
        type: 'text',
        text: 'You know this manual by heart. '.repeat(200),
        cache_control: { type: 'ephemeral' },
      },
    ];
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What does page 3 say?' }];
    const first = await client.messages.create({ model, max_tokens: 64, system, messages });
    assert.ok((first.usage.cache_creation_input_tokens ?? 0) >= 1024);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    const second = await client.messages.create({ model, max_tokens: 64, system, messages });
    assert.equal(second.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens);
    assert.equal(second.usage.cache_creation_input_tokens, 0);
    assert.equal(second.usage.input_tokens, first.usage.input_tokens);
    assert.ok(second.usage.input_tokens < 16);
  });

  test('validation errors in Anthropic words, as BadRequestError', async () => {
    await assert.rejects(
      // @ts-expect-error: max_tokens is required, which is the point
      client.messages.create({ model, messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof Anthropic.BadRequestError &&
        error.status === 400 &&
        (error.error as { error: { type: string; message: string } }).error.type ===
          'invalid_request_error' &&
        /max_tokens: Field required/.test(error.message),
    );
    await assert.rejects(ask({ messages: [] }), /messages: at least one message is required/);
    await assert.rejects(
      // @ts-expect-error: a role the API does not have
      ask({ messages: [{ role: 'tool', content: 'x' }] }),
      /messages.0.role: Input should be 'user', 'assistant' or 'system'/,
    );
  });

  test('API version 2026-10-21 refuses the sampling parameters; 2023-06-01 still takes them', async () => {
    const post = (version: string): Promise<Response> =>
      fetch(`${sim.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'anthropic-version': version },
        body: JSON.stringify({
          model,
          max_tokens: 8,
          temperature: 1,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
    const strict = await post('2026-10-21');
    assert.equal(strict.status, 400);
    assert.match(JSON.stringify(await strict.json()), /temperature: Extra inputs are not permitted/);
    const legacy = await post('2023-06-01');
    assert.equal(legacy.status, 200);
    assert.equal(((await legacy.json()) as { stop_reason: string }).stop_reason, 'max_tokens');
  });

  test('max_tokens 0 warms the cache without content', async () => {
    const message = await ask({ max_tokens: 0 });
    assert.deepEqual(message.content, []);
    assert.equal(message.stop_reason, 'max_tokens');
    const streamed = await client.messages
      .stream({ model, max_tokens: 0, messages: [{ role: 'user', content: 'Hello, Claude' }] })
      .finalMessage();
    assert.deepEqual(streamed.content, []);
    assert.equal(streamed.usage.output_tokens, 0);
  });

  test('count_tokens and models', async () => {
    const counted = await client.messages.countTokens({
      model,
      messages: [{ role: 'user', content: 'a'.repeat(400) }],
    });
    assert.equal(counted.input_tokens, 100);
    const ids: string[] = [];
    for await (const info of client.models.list()) ids.push(info.id);
    assert.ok(ids.includes(model));
    const info = await client.models.retrieve(model);
    assert.equal(info.type, 'model');
    assert.equal(info.display_name, 'Claude Sonnet 4.5');
    await assert.rejects(client.models.retrieve('claude-nope'), Anthropic.NotFoundError);
  });

  test('auth: a wrong or missing key is an AuthenticationError', async () => {
    const wrong = new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-wrong', maxRetries: 0 });
    await assert.rejects(
      wrong.messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof Anthropic.AuthenticationError &&
        error.status === 401 &&
        /invalid x-api-key/.test(error.message),
    );
    const response = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: '{}',
    });
    assert.equal(response.status, 401);
    assert.deepEqual(((await response.json()) as { error: unknown }).error, {
      type: 'authentication_error',
      message: 'x-api-key header is required',
    });
  });

  test('injected faults: 429 RateLimitError with headers, 529 OverloadedError, 500 InternalServerError', async (t) => {
    t.after(() => sim.setOptions({ rateLimitRate: 0, overloadRate: 0, errorRate: 0 }));
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 7 });
    await assert.rejects(ask(), (error: unknown) => {
      assert.ok(error instanceof Anthropic.RateLimitError);
      assert.equal(error.status, 429);
      assert.equal(error.headers?.get('retry-after'), '7');
      assert.equal(error.headers?.get('anthropic-ratelimit-requests-remaining'), '0');
      return true;
    });
    sim.setOptions({ rateLimitRate: 0, overloadRate: 1 });
    await assert.rejects(ask(), (error: unknown) => {
      assert.ok(error instanceof Anthropic.InternalServerError);
      assert.ok(error instanceof Anthropic.OverloadedError);
      assert.equal(error.status, 529);
      assert.equal((error.error as { error: { type: string } }).error.type, 'overloaded_error');
      return true;
    });
    sim.setOptions({ overloadRate: 0, errorRate: 1 });
    await assert.rejects(
      ask(),
      (error: unknown) => error instanceof Anthropic.InternalServerError && error.status === 500,
    );
  });

  test('a cut stream fails in the SDK instead of ending as if complete', async (t) => {
    t.after(() => sim.setOptions({ streamCutRate: 0 }));
    sim.setOptions({ streamCutRate: 1 });
    const stream = client.messages.stream({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    await assert.rejects(stream.finalMessage());
  });
});
