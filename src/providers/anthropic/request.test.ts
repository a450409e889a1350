import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequestBody } from '../../canonical/chat.js';
import { toAnthropicRequest } from './request.js';

const translate = (body: Record<string, unknown>, version = '2023-06-01') =>
  toAnthropicRequest({ model: 'alias', ...body } as ChatRequestBody, 'claude-x', 'claude', version);

const kindOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return `${(error as { kind: string }).kind}: ${(error as Error).message}`;
  }
  return undefined;
};

test('system and developer messages → system; max_tokens defaults to 4096; sampling and user pass', () => {
  const { body, jsonTool } = translate({
    messages: [
      { role: 'system', content: 'Rule one.' },
      { role: 'developer', content: [{ type: 'text', text: 'Rule two.' }] },
      { role: 'user', content: 'Hi' },
    ],
    temperature: 0.2,
    top_p: 0.9,
    top_k: 40,
    stop: 'END',
    user: 'end-user-1',
    stream: true,
  });
  assert.equal(jsonTool, undefined);
  assert.deepEqual(body, {
    model: 'claude-x',
    max_tokens: 4096,
    system: 'Rule one.\n\nRule two.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    stop_sequences: ['END'],
    temperature: 0.2,
    top_p: 0.9,
    top_k: 40,
    metadata: { user_id: 'end-user-1' },
    stream: true,
  });
});

test('assistant turns: signed reasoning first, then text, then tool_use with parsed input', () => {
  const { body } = translate({
    max_completion_tokens: 100,
    messages: [
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: 'Checking.',
        thinking_blocks: [
          { type: 'thinking', thinking: 'Need the tool.', signature: 'sig-1' },
          { type: 'redacted_thinking', data: 'opaque' },
        ],
        tool_calls: [
          {
            id: 'toolu_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      {
        role: 'tool',
        tool_call_id: 'toolu_2',
        content: [
          { type: 'text', text: 'noon' },
          { type: 'text', text: 'UTC' },
        ],
      },
      { role: 'user', content: 'Thanks' },
    ],
  });
  assert.equal(body['max_tokens'], 100);
  assert.deepEqual(body['messages'], [
    { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Need the tool.', signature: 'sig-1' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
        {
          type: 'tool_result',
          tool_use_id: 'toolu_2',
          content: [
            { type: 'text', text: 'noon' },
            { type: 'text', text: 'UTC' },
          ],
        },
        { type: 'text', text: 'Thanks' },
      ],
    },
  ]);
});

test('unsigned reasoning (another provider’s) is not sent back; empty assistant turns are dropped', () => {
  const { body } = translate({
    messages: [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b', reasoning_content: 'I thought' },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'c' },
    ],
  });
  assert.deepEqual(body['messages'], [
    { role: 'user', content: [{ type: 'text', text: 'a' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'b' }] },
    { role: 'user', content: [{ type: 'text', text: 'c' }] },
  ]);
});

test('images: base64 and URL sources; a PDF data URL is a document; other media types are refused', () => {
  const { body } = translate({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/webp;base64,AAAA' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
          { type: 'image_url', image_url: { url: 'data:application/pdf;base64,JVBERi0=' } },
        ],
      },
    ],
  });
  assert.deepEqual((body['messages'] as { content: unknown }[])[0]?.content, [
    { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'AAAA' } },
    { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
    { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
  ]);
  assert.match(
    kindOf(() =>
      translate({
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AA' } }] },
        ],
      }),
    ) ?? '',
    /^unsupported_feature: media type "image\/tiff"/,
  );
});

test('tools and tool_choice: auto, none, required → any, named → tool, parallel off → disable_parallel_tool_use', () => {
  const tools = [
    {
      type: 'function',
      function: { name: 'a', description: 'A', parameters: { type: 'object' }, strict: true },
    },
    { type: 'function', function: { name: 'b' } },
  ];
  const choice = (extra: Record<string, unknown>) =>
    translate({ messages: [{ role: 'user', content: 'x' }], tools, ...extra }).body['tool_choice'];
  assert.deepEqual(translate({ messages: [{ role: 'user', content: 'x' }], tools }).body['tools'], [
    { name: 'a', description: 'A', input_schema: { type: 'object' }, strict: true },
    { name: 'b', input_schema: { type: 'object', properties: {} } },
  ]);
  assert.equal(choice({}), undefined);
  assert.deepEqual(choice({ tool_choice: 'auto' }), { type: 'auto' });
  assert.deepEqual(choice({ tool_choice: 'none' }), { type: 'none' });
  assert.deepEqual(choice({ tool_choice: 'required' }), { type: 'any' });
  assert.deepEqual(choice({ tool_choice: { type: 'function', function: { name: 'b' } } }), {
    type: 'tool',
    name: 'b',
  });
  assert.deepEqual(choice({ parallel_tool_calls: false }), { type: 'auto', disable_parallel_tool_use: true });
  assert.deepEqual(choice({ tool_choice: 'required', parallel_tool_calls: false }), {
    type: 'any',
    disable_parallel_tool_use: true,
  });
});

test('structured output: json_schema → output_config; json_object → a forced json_response tool', () => {
  const schema = {
    type: 'object',
    properties: { a: { type: 'string' } },
    required: ['a'],
    additionalProperties: false,
  };
  const native = translate({
    messages: [{ role: 'user', content: 'x' }],
    response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } },
  });
  assert.deepEqual(native.body['output_config'], { format: { type: 'json_schema', schema } });
  assert.equal(native.jsonTool, undefined);
  const emulated = translate({
    messages: [{ role: 'user', content: 'x' }],
    response_format: { type: 'json_object' },
  });
  assert.equal(emulated.jsonTool, 'json_response');
  assert.deepEqual(emulated.body['tool_choice'], { type: 'tool', name: 'json_response' });
  assert.deepEqual((emulated.body['tools'] as { input_schema: unknown }[])[0]?.input_schema, {
    type: 'object',
  });
  assert.match(
    kindOf(() =>
      translate({
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_object' },
        tools: [{ type: 'function', function: { name: 'a' } }],
      }),
    ) ?? '',
    /^unsupported_feature: response_format json_object together with tools/,
  );
});

test('reasoning: a budget passes; effort maps to 1024 / 4096 / 16384 and fits under max_tokens', () => {
  const thinking = (extra: Record<string, unknown>) => {
    const { body } = translate({ messages: [{ role: 'user', content: 'x' }], ...extra });
    return [body['thinking'], body['max_tokens']];
  };
  assert.deepEqual(thinking({ thinking: { type: 'enabled', budget_tokens: 2000 } }), [
    { type: 'enabled', budget_tokens: 2000 },
    6096,
  ]);
  assert.deepEqual(thinking({ reasoning_effort: 'low' }), [{ type: 'enabled', budget_tokens: 1024 }, 5120]);
  assert.deepEqual(thinking({ reasoning_effort: 'medium' }), [
    { type: 'enabled', budget_tokens: 4096 },
    8192,
  ]);
  assert.deepEqual(thinking({ reasoning_effort: 'high' }), [
    { type: 'enabled', budget_tokens: 16384 },
    20480,
  ]);
  assert.deepEqual(thinking({ reasoning_effort: 'high', max_tokens: 8000 }), [
    { type: 'enabled', budget_tokens: 7999 },
    8000,
  ]);
  assert.deepEqual(thinking({ reasoning_effort: 'minimal' }), [undefined, 4096]);
  assert.match(
    kindOf(() => thinking({ reasoning_effort: 'low', max_tokens: 500 })) ?? '',
    /^invalid_request: max_tokens/,
  );
});

test('cache_control on messages, parts and tools becomes Anthropic breakpoints', () => {
  const { body } = translate({
    messages: [
      {
        role: 'system',
        content: [{ type: 'text', text: 'Long manual', cache_control: { type: 'ephemeral' } }],
      },
      { role: 'user', content: 'First question', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ],
    tools: [{ type: 'function', function: { name: 'a' }, cache_control: { type: 'ephemeral' } }],
  });
  assert.deepEqual(body['system'], [
    { type: 'text', text: 'Long manual', cache_control: { type: 'ephemeral' } },
  ]);
  assert.deepEqual(body['messages'], [
    {
      role: 'user',
      content: [{ type: 'text', text: 'First question', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    },
  ]);
  assert.deepEqual((body['tools'] as { cache_control?: unknown }[])[0]?.cache_control, { type: 'ephemeral' });
});

test('what Anthropic lacks is refused, naming the feature and the provider', () => {
  const base = { messages: [{ role: 'user', content: 'x' }] };
  for (const [field, value] of [
    ['n', 3],
    ['logprobs', true],
    ['top_logprobs', 2],
    ['seed', 1],
    ['frequency_penalty', 0.1],
    ['presence_penalty', -0.5],
    ['logit_bias', { '50256': -100 }],
    ['audio', { voice: 'alloy' }],
  ] as const) {
    const refused = kindOf(() => translate({ ...base, [field]: value }));
    assert.match(
      refused ?? '',
      new RegExp(`^unsupported_feature: "${field}" is not supported by provider claude`),
    );
  }
  // Harmless defaults pass.
  assert.equal(
    kindOf(() => translate({ ...base, n: 1, logprobs: false, frequency_penalty: 0 })),
    undefined,
  );
  // API version 2026-10-21 removed the sampling parameters.
  assert.match(
    kindOf(() => translate({ ...base, temperature: 1 }, '2026-10-21')) ?? '',
    /"temperature" \(removed in/,
  );
  assert.equal(
    kindOf(() => translate(base, '2026-10-21')),
    undefined,
  );
  assert.match(
    kindOf(() =>
      translate({
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 't', type: 'function', function: { name: 'a', arguments: '{oops' } }],
          },
        ],
      }),
    ) ?? '',
    /^invalid_request: .*not valid JSON/,
  );
});
