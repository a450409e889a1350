import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ChatRequestBody } from '../../canonical/chat.js';
import { isGatewayError } from '../../errors/gateway-error.js';
import { toGeminiRequest } from './request.js';

// From dist*/src/providers/gemini/ (or src/providers/gemini/) back to the repository root.
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(new URL(`../../../../test/fixtures/gemini/${name}`, import.meta.url), 'utf8'),
  ) as Record<string, unknown>;

const chat = (extra: Record<string, unknown>): ChatRequestBody => ({
  model: 'gemini-2.5-flash',
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});

test('a conversation with tools, a signed tool-call turn and its results translates as documented', () => {
  const { canonical, gemini } = fixture('request-conversation.json') as {
    canonical: ChatRequestBody;
    gemini: Record<string, unknown>;
  };
  const request = toGeminiRequest(canonical, 'gem', 'gemini-3-pro-preview');
  assert.deepEqual(request.body, gemini);
  assert.equal(request.singleToolCall, false);
});

test('the canonical body is not mutated', () => {
  const { canonical } = fixture('request-conversation.json') as { canonical: ChatRequestBody };
  const copy = structuredClone(canonical);
  toGeminiRequest(canonical, 'gem', 'gemini-3-pro-preview');
  assert.deepEqual(canonical, copy);
});

test('reasoning: a budget goes as thinkingBudget; effort on Gemini 2.5 becomes a budget', () => {
  const budget = toGeminiRequest(
    chat({ thinking: { type: 'enabled', budget_tokens: 2048 } }),
    'gem',
    'gemini-2.5-pro',
  );
  assert.deepEqual((budget.body['generationConfig'] as Record<string, unknown>)['thinkingConfig'], {
    includeThoughts: true,
    thinkingBudget: 2048,
  });
  const effort = toGeminiRequest(chat({ reasoning_effort: 'minimal' }), 'gem', 'gemini-2.5-flash');
  assert.deepEqual((effort.body['generationConfig'] as Record<string, unknown>)['thinkingConfig'], {
    includeThoughts: true,
    thinkingBudget: 512,
  });
});

test('thought text goes back as thought parts with their signatures', () => {
  const request = toGeminiRequest(
    chat({
      messages: [
        { role: 'user', content: 'Q' },
        {
          role: 'assistant',
          content: 'A',
          thinking_blocks: [
            { type: 'thinking', thinking: 'pondering', signature: 'S1' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'thinking', thinking: '', signature: 'S2' },
          ],
        },
        { role: 'user', content: 'Q2' },
      ],
    }),
    'gem',
    'gemini-2.5-flash',
  );
  assert.deepEqual((request.body['contents'] as unknown[])[1], {
    role: 'model',
    parts: [
      { text: 'pondering', thought: true, thoughtSignature: 'S1' },
      { text: 'A', thoughtSignature: 'S2' },
    ],
  });
});

test('json_object asks for JSON without a schema; parallel_tool_calls false is remembered', () => {
  const request = toGeminiRequest(
    chat({
      response_format: { type: 'json_object' },
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice: 'none',
    }),
    'gem',
    'gemini-2.5-flash',
  );
  assert.deepEqual(request.body['generationConfig'], { responseMimeType: 'application/json' });
  assert.deepEqual(request.body['toolConfig'], { functionCallingConfig: { mode: 'NONE' } });
  assert.equal(request.singleToolCall, true);
});

test('gs:// URLs become fileData; an unknown extension sends no mimeType', () => {
  const request = toGeminiRequest(
    chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'gs://bucket/photo.webp' } },
            { type: 'image_url', image_url: { url: 'https://example.com/render' } },
          ],
        },
      ],
    }),
    'gem',
    'gemini-2.5-flash',
  );
  assert.deepEqual((request.body['contents'] as { parts: unknown[] }[])[0]?.parts, [
    { fileData: { fileUri: 'gs://bucket/photo.webp', mimeType: 'image/webp' } },
    { fileData: { fileUri: 'https://example.com/render' } },
  ]);
});

const refusal = (feature: RegExp) => (error: unknown) =>
  isGatewayError(error) &&
  error.kind === 'unsupported_feature' &&
  feature.test(error.message) &&
  /gem/.test(error.message);

test('what Gemini cannot do is refused, naming the feature and the provider', () => {
  assert.throws(() => toGeminiRequest(chat({ logprobs: true }), 'gem', 'm'), refusal(/logprobs/));
  assert.throws(() => toGeminiRequest(chat({ logit_bias: { '42': 5 } }), 'gem', 'm'), refusal(/logit_bias/));
  assert.throws(
    () => toGeminiRequest(chat({ modalities: ['text', 'audio'] }), 'gem', 'm'),
    refusal(/modalities/),
  );
  assert.throws(
    () =>
      toGeminiRequest(
        chat({
          messages: [
            { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/a.png' } }] },
          ],
        }),
        'gem',
        'm',
      ),
    refusal(/image URLs/),
  );
  assert.throws(
    () =>
      toGeminiRequest(
        chat({
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
            {
              role: 'tool',
              tool_call_id: 'c1',
              content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }],
            },
          ],
        }),
        'gem',
        'm',
      ),
    refusal(/images in tool results/),
  );
});

test('tool-call arguments that are not a JSON object are a 400', () => {
  assert.throws(
    () =>
      toGeminiRequest(
        chat({
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '[1' } }],
            },
          ],
        }),
        'gem',
        'm',
      ),
    (error: unknown) => isGatewayError(error) && error.kind === 'invalid_request',
  );
});
