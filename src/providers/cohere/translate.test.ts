// Cohere translators replayed against documented-format fixtures (test/fixtures/cohere/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { ChatRequestBody, StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { upstreamHttpError } from '../http/upstream-errors.js';
import { embeddingsFromCohere, toCohereEmbed } from './embed.js';
import { readCohereError } from './errors.js';
import { toCohereChat } from './request.js';
import { chatResponseFromCohere } from './response.js';
import { cohereStreamDecoder } from './stream.js';

// Four levels up from <out>/src/providers/cohere/ is the repository root, where the fixtures live.
const fixtures = new URL('../../../../test/fixtures/cohere/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, fixtures));
const json = (name: string): unknown => JSON.parse(fixture(name).toString('utf8'));

const body = (extra: Record<string, unknown>): ChatRequestBody => ({
  model: 'alias',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('canonical request → Cohere v2 chat', () => {
  test('system first, sampling names, stop, max tokens, seed, penalties', () => {
    const out = toCohereChat(
      body({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: 'Use French.' },
          { role: 'user', content: 'Bonjour' },
        ],
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40,
        stop: 'END',
        max_completion_tokens: 50,
        seed: 7,
        frequency_penalty: 0.1,
        presence_penalty: 0.2,
        user: 'end-user-1',
      }),
      'command-a-03-2025',
      false,
      'co',
    );
    assert.deepEqual(out, {
      model: 'command-a-03-2025',
      messages: [
        { role: 'system', content: 'Be brief.\n\nUse French.' },
        { role: 'user', content: 'Bonjour' },
      ],
      stop_sequences: ['END'],
      max_tokens: 50,
      temperature: 0.2,
      p: 0.9,
      k: 40,
      seed: 7,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
    });
  });

  test('images, tool calls with their plan, tool results, and a stream flag', () => {
    const out = toCohereChat(
      body({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
            ],
          },
          {
            role: 'assistant',
            content: 'Let me check.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'lookup',
              description: 'Look up',
              parameters: { type: 'object' },
              strict: true,
            },
          },
        ],
        tool_choice: 'required',
      }),
      'command-a-vision-07-2025',
      true,
      'co',
    );
    assert.equal(out['stream'], true);
    assert.deepEqual(out['messages'], [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
      {
        role: 'assistant',
        tool_plan: 'Let me check.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
    ]);
    assert.deepEqual(out['tools'], [
      {
        type: 'function',
        function: { name: 'lookup', parameters: { type: 'object' }, description: 'Look up' },
      },
    ]);
    assert.equal(out['strict_tools'], true);
    assert.equal(out['tool_choice'], 'REQUIRED');
  });

  test('a named tool choice offers only that tool, REQUIRED; none is NONE; auto is omitted', () => {
    const tools = ['a', 'b'].map((name) => ({ type: 'function', function: { name } }));
    const named = toCohereChat(
      body({ tools, tool_choice: { type: 'function', function: { name: 'b' } } }),
      'm',
      false,
      'co',
    );
    assert.deepEqual(
      (named['tools'] as { function: { name: string } }[]).map((t) => t.function.name),
      ['b'],
    );
    assert.equal(named['tool_choice'], 'REQUIRED');
    assert.equal(toCohereChat(body({ tools, tool_choice: 'none' }), 'm', false, 'co')['tool_choice'], 'NONE');
    assert.equal(
      toCohereChat(body({ tools, tool_choice: 'auto' }), 'm', false, 'co')['tool_choice'],
      undefined,
    );
  });

  test('structured output and reasoning', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const out = toCohereChat(
      body({
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
        thinking: { type: 'enabled', budget_tokens: 2048 },
      }),
      'command-a-reasoning-08-2025',
      false,
      'co',
    );
    assert.deepEqual(out['response_format'], { type: 'json_object', json_schema: schema });
    assert.deepEqual(out['thinking'], { type: 'enabled', token_budget: 2048 });
    const plain = toCohereChat(body({ response_format: { type: 'json_object' } }), 'm', false, 'co');
    assert.deepEqual(plain['response_format'], { type: 'json_object' });
  });

  test('what Cohere cannot do is refused with a 400 naming feature and provider', () => {
    const refused = (extra: Record<string, unknown>, param: string): void => {
      assert.throws(
        () => toCohereChat(body(extra), 'm', false, 'co'),
        (error: unknown) =>
          error instanceof GatewayError &&
          error.kind === 'unsupported_feature' &&
          error.param === param &&
          error.message.includes('provider co'),
      );
    };
    refused({ n: 2 }, 'n');
    refused({ logprobs: true }, 'logprobs');
    refused(
      { tools: [{ type: 'function', function: { name: 'a' } }], parallel_tool_calls: false },
      'parallel_tool_calls',
    );
    refused(
      {
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'tool',
            tool_call_id: 'c',
            content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }],
          },
        ],
      },
      'messages[1].content',
    );
  });
});

describe('Cohere answers → canonical', () => {
  test('text answer, usage from the bill', () => {
    const response = chatResponseFromCohere(json('chat-text.json'), 'command-a-03-2025', 'co');
    assert.equal(response.id, 'c14c80c3-18eb-4519-9460-6c92edd8cfb4');
    assert.equal(response.model, 'command-a-03-2025');
    assert.deepEqual(response.choices[0], {
      index: 0,
      text: 'LLMs are neural networks trained on large amounts of text.',
      toolCalls: [],
      finishReason: 'stop',
    });
    assert.deepEqual(response.usage, { inputTokens: 5, outputTokens: 11 });
  });

  test('tool calls, with the plan as the text', () => {
    const choice = chatResponseFromCohere(json('chat-tool-call.json'), 'm', 'co').choices[0];
    assert.equal(choice?.finishReason, 'tool_calls');
    assert.equal(choice?.text, 'I will look up the weather in Toronto.');
    assert.deepEqual(choice?.toolCalls, [
      { id: 'get_weather_1byjy32y4hvq', name: 'get_weather', arguments: '{"location":"Toronto"}' },
    ]);
  });

  test('thinking content, MAX_TOKENS, cached tokens', () => {
    const response = chatResponseFromCohere(json('chat-thinking.json'), 'm', 'co');
    const choice = response.choices[0];
    assert.equal(choice?.finishReason, 'length');
    assert.equal(choice?.text, "Each of Alice's brothers has 3 sisters.");
    assert.deepEqual(choice?.reasoning, [{ text: 'Alice has 2 sisters, so each brother has 3 sisters.' }]);
    assert.deepEqual(response.usage, { inputTokens: 30, outputTokens: 40, cachedInputTokens: 12 });
  });

  test('an answer without a message is the provider’s fault', () => {
    assert.throws(
      () => chatResponseFromCohere({ id: 'x' }, 'm', 'co'),
      (error: unknown) => error instanceof GatewayError && error.kind === 'upstream_error',
    );
  });

  test('a 429 keeps Cohere’s message and becomes upstream_rate_limited', () => {
    const error = upstreamHttpError(
      'co',
      429,
      { 'retry-after': '2' },
      fixture('error-rate-limit.json'),
      readCohereError,
    );
    assert.equal(error.kind, 'upstream_rate_limited');
    assert.equal(error.retryAfterSeconds, 2);
    assert.match(error.message, /^You are using a Trial key/);
    assert.deepEqual(readCohereError(Buffer.from('<html>')), {});
  });
});

/** Decodes a transcript fed in pieces of `size` bytes (1 splits every multi-byte character). */
function decode(name: string, size: number): StreamPart[] {
  const bytes = fixture(name);
  const decoder = cohereStreamDecoder('command-a-03-2025', 'co');
  const parts: StreamPart[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(...decoder.push(bytes.subarray(at, at + size)));
  parts.push(...decoder.end());
  return parts;
}

const texts = (parts: StreamPart[]): string =>
  parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');

describe('Cohere stream → canonical parts', () => {
  test('text stream, whatever the chunking, UTF-8 split included', () => {
    const whole = decode('stream-text.sse', 1 << 20);
    for (const size of [1, 2, 3, 7, 64])
      assert.deepEqual(decode('stream-text.sse', size).slice(1), whole.slice(1));
    assert.equal(whole[0]?.type, 'start');
    assert.equal(texts(whole), 'Café au lait ☕ is nice');
    assert.deepEqual(whole.slice(-2), [
      { type: 'finish', choice: 0, reason: 'stop' },
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 7 } },
    ]);
  });

  test('tool plan as text, two tool calls by index with id and name first', () => {
    const parts = decode('stream-tool-call.sse', 5);
    assert.equal(texts(parts), 'I will check the weather.');
    const calls = parts.filter((p) => p.type === 'tool-call-delta');
    assert.deepEqual(calls[0], {
      type: 'tool-call-delta',
      choice: 0,
      index: 0,
      argumentsDelta: '',
      id: 'get_weather_nsz5zm3w56q3',
      name: 'get_weather',
    });
    const args = (index: number): string =>
      calls.map((p) => (p.index === index ? p.argumentsDelta : '')).join('');
    assert.equal(args(0), '{"location":"Toronto"}');
    assert.equal(args(1), '{}');
    assert.deepEqual(
      parts.find((p) => p.type === 'finish'),
      { type: 'finish', choice: 0, reason: 'tool_calls' },
    );
  });

  test('thinking blocks become reasoning parts closed before the text', () => {
    const parts = decode('stream-thinking.sse', 11).filter((p) => p.type !== 'start');
    assert.deepEqual(parts.slice(0, 3), [
      { type: 'reasoning-delta', choice: 0, text: 'Two plus two' },
      { type: 'reasoning-end', choice: 0 },
      { type: 'text-delta', choice: 0, text: '4' },
    ]);
  });

  test('an error in message-end throws; a stream cut before message-end is interrupted', () => {
    assert.throws(
      () => decode('stream-error.sse', 1 << 20),
      (error: unknown) =>
        error instanceof GatewayError && /internal error during generation/.test(error.message),
    );
    const bytes = fixture('stream-text.sse');
    const cut = bytes.subarray(0, bytes.indexOf('event: message-end'));
    const decoder = cohereStreamDecoder('m', 'co');
    decoder.push(cut);
    assert.throws(
      () => decoder.end(),
      (error: unknown) => error instanceof GatewayError && error.kind === 'upstream_stream_interrupted',
    );
  });
});

describe('embeddings ↔ Cohere v2 embed', () => {
  test('request: texts, input_type default and override, dimensions', () => {
    assert.deepEqual(toCohereEmbed({ model: 'e', input: 'hello', dimensions: 256 }, 'embed-v4.0', 'co'), {
      model: 'embed-v4.0',
      texts: ['hello'],
      input_type: 'search_document',
      embedding_types: ['float'],
      output_dimension: 256,
    });
    assert.equal(
      toCohereEmbed({ model: 'e', input: ['q'], input_type: 'search_query' }, 'embed-v4.0', 'co')[
        'input_type'
      ],
      'search_query',
    );
    assert.throws(
      () => toCohereEmbed({ model: 'e', input: [1, 2, 3] }, 'embed-v4.0', 'co'),
      (error: unknown) => error instanceof GatewayError && error.kind === 'unsupported_feature',
    );
  });

  test('answer: float vectors, or base64 float32 when asked; billed tokens', () => {
    const floats = embeddingsFromCohere(json('embed.json'), 'embed-v4.0', false, 'co');
    assert.equal(floats.vectors.length, 2);
    assert.deepEqual(floats.usage, { inputTokens: 2, outputTokens: 0 });
    const encoded = embeddingsFromCohere(json('embed.json'), 'embed-v4.0', true, 'co');
    const bytes = Buffer.from(encoded.vectors[0] as string, 'base64');
    assert.equal(bytes.length, 12);
    assert.ok(Math.abs(bytes.readFloatLE(0) - 0.016296387) < 1e-7);
  });
});
