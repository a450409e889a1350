/**
 * The anthropic provider end to end: the openai SDK as client → Sluice → the anthropic adapter → the
 * simulator speaking Anthropic's Messages API. What reaches the simulator is checked in Anthropic's shape
 * (stats.lastRequest); what comes back is checked as the openai SDK parses it. The native pass-through
 * (an Anthropic client's bytes, untranslated) is driven through the adapter directly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { APIError } from 'openai';
import { validateConfig } from '../src/config/load.js';
import { Cancellation } from '../src/http/cancellation.js';
import { createAnthropicAdapter } from '../src/providers/anthropic/adapter.js';
import type { ByteSink, ProviderAdapter, UpstreamCall } from '../src/providers/provider.js';
import type { ChatRequestBody } from '../src/canonical/chat.js';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const providerKey = 'sk-ant-provider-secret-42';
const target = 'claude-sonnet-4-5-20250929';

type Json = Record<string, unknown>;

const weather: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer' } },
      required: ['city', 'days'],
    },
  },
};
const time: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};

function providerConfig(url: string, extra: Json = {}): Json {
  return { name: 'claude', kind: 'anthropic', base_url: url, api_key: providerKey, ...extra };
}

describe('openai SDK → Sluice → anthropic provider → simulator (--format anthropic)', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: OpenAI;

  before(async () => {
    sim = await startSimulator({
      format: 'anthropic',
      port: 0,
      apiKey: providerKey,
      outputTokens: 12,
      recordRequests: true,
    });
    gateway = await startGateway({
      providers: [
        providerConfig(sim.url),
        // base_url with /v1 is accepted as well; a wrong key shows how upstream 401s surface.
        providerConfig(`${sim.url}/v1`, { name: 'claude-bad-key', api_key: 'sk-ant-wrong' }),
      ],
      models: [
        { name: 'claude', targets: [{ provider: 'claude', model: target }] },
        { name: 'claude-bad-key', targets: [{ provider: 'claude-bad-key', model: target }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
  });

  const sent = (): Json => {
    const recorded = sim.stats.lastRequest;
    assert.ok(recorded !== undefined, 'the simulator saw a request');
    return recorded.body as Json;
  };

  const chat = (extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) =>
    client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hello there' }],
      ...extra,
    });

  test('non-stream text with a system prompt, in Anthropic shape upstream', async () => {
    const completion = await chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
    });
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.equal((completion.choices[0]?.message.content ?? '').trim().split(' ').length, 12);
    assert.equal(completion.usage?.completion_tokens, 12);
    assert.ok((completion.usage?.prompt_tokens ?? 0) > 0);
    assert.match(completion.id, /^msg_01/);
    const body = sent();
    assert.equal(body['model'], target);
    assert.equal(body['max_tokens'], 4096);
    assert.equal(body['system'], 'Be brief.');
    assert.deepEqual(body['messages'], [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }]);
    const headers = sim.stats.lastRequest?.headers ?? {};
    assert.equal(headers['x-api-key'], providerKey);
    assert.equal(headers['anthropic-version'], '2023-06-01');
  });

  test('streamed text arrives token by token and matches the non-stream answer, with usage', async () => {
    const whole = await chat();
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hello there' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let deltas = 0;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) {
        deltas++;
        text += delta;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(deltas, 12);
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 12);
    assert.equal(usage?.prompt_tokens, whole.usage?.prompt_tokens);
  });

  test('multi-turn history keeps its turns', async () => {
    await chat({
      messages: [
        { role: 'user', content: 'One' },
        { role: 'assistant', content: 'Two' },
        { role: 'user', content: 'Three' },
      ],
    });
    const messages = sent()['messages'] as Json[];
    assert.deepEqual(
      messages.map((m) => m['role']),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(messages[1], { role: 'assistant', content: [{ type: 'text', text: 'Two' }] });
  });

  test('required tool choice: parallel calls with schema-valid arguments; parallel_tool_calls false → one', async () => {
    const completion = await chat({ tools: [weather, time], tool_choice: 'required' });
    const choice = completion.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    const calls = (choice?.message.tool_calls ?? []) as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    assert.deepEqual(
      calls.map((c) => c.function.name),
      ['get_weather', 'get_time'],
    );
    const args = JSON.parse(calls[0]?.function.arguments ?? '') as { city: unknown; days: unknown };
    assert.equal(typeof args.city, 'string');
    assert.ok(Number.isInteger(args.days));
    const body = sent();
    assert.deepEqual(body['tool_choice'], { type: 'any' });
    assert.deepEqual((body['tools'] as Json[])[0], {
      name: 'get_weather',
      description: 'Weather for a city',
      input_schema: weather.function.parameters,
    });

    const single = await chat({
      tools: [weather, time],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    assert.equal(single.choices[0]?.message.tool_calls?.length, 1);
    assert.deepEqual(sent()['tool_choice'], { type: 'any', disable_parallel_tool_use: true });

    const named = await chat({
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.equal(
      (named.choices[0]?.message.tool_calls?.[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall)
        .function.name,
      'get_time',
    );
    assert.deepEqual(sent()['tool_choice'], { type: 'tool', name: 'get_time' });
  });

  test('streamed tool calls: argument deltas the openai SDK assembles into the same calls', async () => {
    const whole = await chat({ tools: [weather, time], tool_choice: 'required' });
    const stream = client.chat.completions.stream({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hello there' }],
      tools: [weather, time],
      tool_choice: 'required',
    });
    let argumentDeltas = 0;
    stream.on('tool_calls.function.arguments.delta', () => argumentDeltas++);
    const final = await stream.finalChatCompletion();
    assert.ok(argumentDeltas > 2, `expected several argument deltas, got ${argumentDeltas}`);
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    const strip = (calls: OpenAI.Chat.ChatCompletionMessageToolCall[] | undefined) =>
      (calls ?? []).map((c) => {
        const call = c as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
        return { id: call.id, name: call.function.name, arguments: call.function.arguments };
      });
    assert.deepEqual(
      strip(final.choices[0]?.message.tool_calls),
      strip(whole.choices[0]?.message.tool_calls),
    );
  });

  test('tool results round trip: parallel results become one user turn of tool_result blocks', async () => {
    const first = await chat({ tools: [weather, time], tool_choice: 'required' });
    const calls = first.choices[0]?.message.tool_calls ?? [];
    const answer = await chat({
      tools: [weather, time],
      messages: [
        { role: 'user', content: 'Weather and time?' },
        { role: 'assistant', content: null, tool_calls: calls },
        { role: 'tool', tool_call_id: calls[0]?.id ?? '', content: 'sunny' },
        { role: 'tool', tool_call_id: calls[1]?.id ?? '', content: [{ type: 'text', text: '12:00' }] },
      ],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    const messages = sent()['messages'] as Json[];
    assert.equal(messages.length, 3);
    const uses = (messages[1]?.['content'] as Json[]).map((b) => [b['type'], b['id']]);
    assert.deepEqual(uses, [
      ['tool_use', calls[0]?.id],
      ['tool_use', calls[1]?.id],
    ]);
    assert.deepEqual(messages[2], {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: calls[0]?.id, content: 'sunny' },
        { type: 'tool_result', tool_use_id: calls[1]?.id, content: '12:00' },
      ],
    });
  });

  test('images: base64 and URL parts reach the simulator as Anthropic image blocks', async () => {
    await chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    const content = (sent()['messages'] as Json[])[0]?.['content'];
    assert.deepEqual(content, [
      { type: 'text', text: 'Compare these' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  test('structured output: json_schema via output_config, json_object via a forced tool, both as text', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name', 'age'],
      additionalProperties: false,
    };
    const structured = await chat({
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    });
    const person = JSON.parse(structured.choices[0]?.message.content ?? '') as {
      name: unknown;
      age: unknown;
    };
    assert.equal(typeof person.name, 'string');
    assert.ok(Number.isInteger(person.age));
    assert.deepEqual(sent()['output_config'], { format: { type: 'json_schema', schema } });

    const object = await chat({ response_format: { type: 'json_object' } });
    assert.equal(object.choices[0]?.finish_reason, 'stop');
    assert.equal(object.choices[0]?.message.tool_calls, undefined);
    assert.equal(typeof JSON.parse(object.choices[0]?.message.content ?? ''), 'object');
    assert.deepEqual(sent()['tool_choice'], { type: 'tool', name: 'json_response' });

    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hello there' }],
      response_format: { type: 'json_object' },
      stream: true,
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(chunk.choices[0]?.delta.tool_calls, undefined);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, object.choices[0]?.message.content);
    assert.equal(finish, 'stop');
  });

  test('stop sequences are sent as stop_sequences and end the answer with finish_reason stop', async () => {
    const free = (await chat()).choices[0]?.message.content ?? '';
    const stop = ` ${free.trim().split(' ')[4] as string}`;
    const cut = await chat({ stop: [stop] });
    assert.deepEqual(sent()['stop_sequences'], [stop]);
    assert.equal(cut.choices[0]?.finish_reason, 'stop');
    assert.equal(cut.choices[0]?.message.content, free.slice(0, free.indexOf(stop)));
  });

  test('max_tokens caps the answer: finish_reason length', async () => {
    const capped = await chat({ max_tokens: 5 });
    assert.equal(capped.choices[0]?.finish_reason, 'length');
    assert.equal(capped.usage?.completion_tokens, 5);
    assert.equal(sent()['max_tokens'], 5);
  });

  test('usage counts cached input: a cache_control breakpoint is written once, then read', async () => {
    const manual = 'Section one of the manual says many things. '.repeat(120);
    const messages = [
      { role: 'system', content: [{ type: 'text', text: manual, cache_control: { type: 'ephemeral' } }] },
      { role: 'user', content: 'Summarise the manual' },
    ] as unknown as OpenAI.Chat.ChatCompletionMessageParam[];
    const first = await chat({ messages });
    const system = sent()['system'] as Json[];
    assert.deepEqual(system[0]?.['cache_control'], { type: 'ephemeral' });
    assert.equal(first.usage?.prompt_tokens_details?.cached_tokens, 0);
    const second = await chat({ messages });
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    assert.ok(cached >= 1024, `expected the cached prefix, got ${cached}`);
    // OpenAI's accounting: prompt_tokens counts cached and uncached input alike.
    assert.equal(second.usage?.prompt_tokens, first.usage?.prompt_tokens);
    assert.ok(cached < (second.usage?.prompt_tokens ?? 0));
  });

  test('reasoning: effort becomes a thinking budget; thinking surfaces as reasoning_content, signed', async () => {
    const completion = await chat({ reasoning_effort: 'low' });
    const body = sent();
    assert.deepEqual(body['thinking'], { type: 'enabled', budget_tokens: 1024 });
    assert.equal(body['max_tokens'], 1024 + 4096);
    const message = completion.choices[0]?.message as unknown as {
      content: string;
      reasoning_content: string;
      thinking_blocks: { type: string; thinking: string; signature: string }[];
    };
    assert.ok(message.reasoning_content.length > 0);
    assert.ok(message.content.length > 0);
    assert.equal(message.thinking_blocks[0]?.type, 'thinking');
    assert.ok((message.thinking_blocks[0]?.signature ?? '').length > 20);

    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hello there' }],
      reasoning_effort: 'low',
      stream: true,
    });
    let reasoning = '';
    for await (const chunk of stream) {
      reasoning +=
        (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    }
    assert.equal(reasoning, message.reasoning_content);

    // The signed block goes back with the next turn, first in the assistant's content.
    await chat({
      messages: [
        { role: 'user', content: 'Hello there' },
        { role: 'assistant', content: message.content, thinking_blocks: message.thinking_blocks } as never,
        { role: 'user', content: 'And then?' },
      ],
      reasoning_effort: 'low',
    });
    const assistant = (sent()['messages'] as Json[])[1]?.['content'] as Json[];
    assert.deepEqual(assistant[0], {
      type: 'thinking',
      thinking: message.thinking_blocks[0]?.thinking,
      signature: message.thinking_blocks[0]?.signature,
    });
  });

  test('upstream 429 → 429 with Retry-After; 529 → 503 with Retry-After; 500 → 502', async (t) => {
    t.after(() => sim.setOptions({ rateLimitRate: 0, overloadRate: 0, errorRate: 0 }));
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 9 });
    await assert.rejects(chat(), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 429);
      assert.equal(error.headers?.get('retry-after'), '9');
      return true;
    });
    sim.setOptions({ rateLimitRate: 0, overloadRate: 1, retryAfterSeconds: 4 });
    await assert.rejects(chat(), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 503);
      assert.equal(error.headers?.get('retry-after'), '4');
      return true;
    });
    sim.setOptions({ overloadRate: 0, errorRate: 1 });
    await assert.rejects(chat(), (error: unknown) => error instanceof APIError && error.status === 502);
  });

  test('a wrong provider key is the gateway operator’s problem: 502 without the upstream message', async () => {
    await assert.rejects(chat({ model: 'claude-bad-key' }), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 502);
      assert.doesNotMatch(error.message, /x-api-key/);
      return true;
    });
  });

  test('features Anthropic lacks are refused with a 400 naming the feature and the provider', async () => {
    for (const extra of [{ n: 2 }, { seed: 7 }, { logprobs: true }, { frequency_penalty: 0.5 }] as const) {
      await assert.rejects(chat(extra), (error: unknown) => {
        assert.ok(error instanceof APIError);
        assert.equal(error.status, 400);
        assert.match(error.message, /not supported by provider claude/);
        assert.match(error.message, new RegExp(Object.keys(extra)[0] as string));
        return true;
      });
    }
    await assert.rejects(
      client.embeddings.create({ model: 'claude', input: 'x' }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && /embeddings/.test(error.message),
    );
  });

  test('a stream the upstream cuts ends with an error frame, not as complete', async (t) => {
    t.after(() => sim.setOptions({ streamCutRate: 0 }));
    sim.setOptions({ streamCutRate: 1 });
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hello there' }],
      stream: true,
    });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
      (error: unknown) => error instanceof APIError && /cut|ended|interrupted/.test(error.message),
    );
    assert.ok(text.length > 0, 'the first half arrived before the cut');
  });
});

describe('anthropic adapter, native pass-through (an Anthropic client’s bytes, untranslated)', () => {
  let sim: SimulatorHandle;
  let adapter: ProviderAdapter;

  before(async () => {
    sim = await startSimulator({
      format: 'anthropic',
      port: 0,
      apiKey: providerKey,
      outputTokens: 6,
      recordRequests: true,
    });
    const config = validateConfig({
      providers: [providerConfig(sim.url)],
      models: [{ name: 'claude', targets: [{ provider: 'claude', model: target }] }],
    });
    adapter = createAnthropicAdapter(config.providers[0] as never);
  });
  after(async () => {
    await adapter.close();
    await sim.close();
  });

  function call(inbound: Json, stream: boolean): UpstreamCall<ChatRequestBody> & { firstTokens: number } {
    const result = {
      body: { model: 'claude', messages: [] } as ChatRequestBody,
      inboundBody: inbound,
      inboundFormat: 'anthropic' as const,
      inboundHeaders: { 'anthropic-beta': 'test-beta-2026-01-01' },
      model: target,
      stream,
      cancel: new Cancellation(),
      timeouts: { connect_ms: 1_000, ttft_ms: 2_000, idle_ms: 2_000, total_ms: 5_000 },
      requestId: 'req-test',
      firstTokens: 0,
      onFirstToken: () => {
        result.firstTokens++;
      },
    };
    return result;
  }

  const inbound = {
    model: 'claude',
    max_tokens: 64,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Hello' }],
  };

  test('non-stream: the body goes out as written (model replaced), the answer comes back as bytes', async () => {
    const outcome = await adapter.chat(call(inbound, false));
    assert.equal(outcome.kind, 'raw');
    if (outcome.kind !== 'raw') return;
    const message = JSON.parse(outcome.body.toString('utf8')) as {
      type: string;
      usage: { output_tokens: number };
    };
    assert.equal(message.type, 'message');
    assert.equal(outcome.usage?.outputTokens, 6);
    assert.deepEqual(sim.stats.lastRequest?.body, { ...inbound, model: target });
    // The client's betas reach Anthropic on the native path.
    assert.equal(sim.stats.lastRequest?.headers['anthropic-beta'], 'test-beta-2026-01-01');
  });

  test('stream: SSE bytes pass through whole, with usage and the first token noticed', async () => {
    const upstreamCall = call({ ...inbound, stream: true }, true);
    const outcome = await adapter.chat(upstreamCall);
    assert.equal(outcome.kind, 'raw-stream');
    if (outcome.kind !== 'raw-stream') return;
    const chunks: Buffer[] = [];
    const sink: ByteSink = { write: (chunk) => (chunks.push(chunk), true), onDrain: () => {} };
    await outcome.pipeTo(sink);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.match(text, /^event: message_start\n/);
    assert.match(text, /event: message_stop\n/);
    assert.equal(upstreamCall.firstTokens, 1);
    const usage = outcome.usage();
    assert.equal(usage?.outputTokens, 6);
    assert.ok((usage?.inputTokens ?? 0) > 0);
  });

  test('stream cut: the pass-through rejects as interrupted', async (t) => {
    t.after(() => sim.setOptions({ streamCutRate: 0 }));
    sim.setOptions({ streamCutRate: 1 });
    const outcome = await adapter.chat(call({ ...inbound, stream: true }, true));
    assert.equal(outcome.kind, 'raw-stream');
    if (outcome.kind !== 'raw-stream') return;
    await assert.rejects(
      outcome.pipeTo({ write: () => true, onDrain: () => {} }),
      (error: unknown) => (error as { kind?: string }).kind === 'upstream_stream_interrupted',
    );
  });
});

describe('@anthropic-ai/sdk → Sluice /v1/messages → anthropic provider: the native path end to end', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: Anthropic;

  before(async () => {
    sim = await startSimulator({
      format: 'anthropic',
      port: 0,
      apiKey: providerKey,
      outputTokens: 8,
      recordRequests: true,
    });
    gateway = await startGateway({
      providers: [providerConfig(sim.url)],
      models: [{ name: 'claude', targets: [{ provider: 'claude', model: target }] }],
    });
    client = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('non-stream: the client’s body reaches the provider as written, cache_control included', async () => {
    const params = {
      model: 'claude',
      max_tokens: 64,
      system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'Hello' }],
    };
    const message = await client.messages.create(params);
    assert.equal(message.type, 'message');
    assert.equal(message.usage.output_tokens, 8);
    assert.deepEqual(sim.stats.lastRequest?.body, { ...params, model: target });
    assert.equal(sim.stats.lastRequest?.headers['x-api-key'], providerKey);
  });

  test('stream: tool_use and thinking events pass through and the SDK assembles them', async () => {
    const tool: Anthropic.Tool = {
      name: 'get_weather',
      input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    };
    const tools = await client.messages
      .stream({
        model: 'claude',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [tool],
        tool_choice: { type: 'any' },
      })
      .finalMessage();
    assert.equal(tools.stop_reason, 'tool_use');
    assert.equal(typeof (tools.content[0] as Anthropic.ToolUseBlock).input, 'object');
    const thinking = await client.messages
      .stream({
        model: 'claude',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'Think' }],
      })
      .finalMessage();
    assert.deepEqual(
      thinking.content.map((b) => b.type),
      ['thinking', 'text'],
    );
  });

  test('an upstream 529 reaches the Anthropic client as a 503 overloaded_error', async (t) => {
    t.after(() => sim.setOptions({ overloadRate: 0 }));
    sim.setOptions({ overloadRate: 1 });
    await assert.rejects(
      client.messages.create({ model: 'claude', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) => {
        assert.ok(error instanceof Anthropic.APIError);
        assert.equal(error.status, 503);
        assert.equal((error.error as { error: { type: string } }).error.type, 'overloaded_error');
        return true;
      },
    );
  });
});
