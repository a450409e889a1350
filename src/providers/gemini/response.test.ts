import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isGatewayError } from '../../errors/gateway-error.js';
import { chatResponseFromGemini, finishReasonOf, usageFromGemini } from './response.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../../test/fixtures/gemini/${name}`, import.meta.url), 'utf8'));

const options = { provider: 'gem', model: 'gemini-2.5-flash', singleToolCall: false };

test('text with a thought summary: reasoning block, signature kept, cached and thought tokens in usage', () => {
  const response = chatResponseFromGemini(fixture('generate-text.json'), options);
  assert.equal(response.id, '7Xc5aPiDIuXRz7IP2tWpqQ4');
  assert.equal(response.model, 'gemini-2.5-flash');
  assert.deepEqual(response.choices, [
    {
      index: 0,
      text: 'Hello! How can I help you today?',
      toolCalls: [],
      finishReason: 'stop',
      reasoning: [
        { text: '**Weighing the question**\n\nThe user wants a short greeting.' },
        { text: '', signature: 'CiQBVKhc7sig-text-0001' },
      ],
    },
  ]);
  assert.deepEqual(response.usage, {
    inputTokens: 120,
    outputTokens: 9 + 42,
    cachedInputTokens: 100,
    reasoningTokens: 42,
  });
});

test('parallel function calls: made-up unique ids, arguments as JSON text, finish tool_calls', () => {
  const response = chatResponseFromGemini(fixture('generate-function-calls.json'), options);
  const choice = response.choices[0];
  assert.equal(choice?.finishReason, 'tool_calls');
  assert.equal(choice?.text, null);
  assert.deepEqual(choice?.toolCalls, [
    { id: 'call_resp-calls-1_0', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
    { id: 'call_resp-calls-1_1', name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
  ]);
  assert.deepEqual(choice?.reasoning, [{ text: '', signature: 'CiwBVKhc7sig-call-0001' }]);
  assert.equal(response.model, 'gemini-2.5-pro');
  assert.deepEqual(response.usage, { inputTokens: 64, outputTokens: 30 });
});

test('singleToolCall keeps the first call only', () => {
  const response = chatResponseFromGemini(fixture('generate-function-calls.json'), {
    ...options,
    singleToolCall: true,
  });
  assert.deepEqual(
    response.choices[0]?.toolCalls.map((c) => c.name),
    ['get_weather'],
  );
});

test('several candidates: MAX_TOKENS → length, SAFETY → content_filter', () => {
  const response = chatResponseFromGemini(fixture('generate-max-tokens.json'), options);
  assert.deepEqual(
    response.choices.map((c) => [c.index, c.finishReason, c.text]),
    [
      [0, 'length', 'The first'],
      [1, 'content_filter', 'Unsafe'],
    ],
  );
});

test('a blocked prompt is one content_filter choice with a refusal', () => {
  const response = chatResponseFromGemini(fixture('generate-blocked.json'), options);
  assert.equal(response.choices.length, 1);
  assert.equal(response.choices[0]?.finishReason, 'content_filter');
  assert.match(response.choices[0]?.refusal ?? '', /PROHIBITED_CONTENT/);
  assert.deepEqual(response.usage, { inputTokens: 12, outputTokens: 0 });
});

test("an answer without candidates or feedback is the provider's fault", () => {
  assert.throws(
    () => chatResponseFromGemini({ usageMetadata: {} }, options),
    (error: unknown) => isGatewayError(error) && error.kind === 'upstream_error',
  );
});

test('finish reasons and usage edge cases', () => {
  assert.equal(finishReasonOf('RECITATION', false), 'content_filter');
  assert.equal(finishReasonOf('MALFORMED_FUNCTION_CALL', false), 'error');
  assert.equal(finishReasonOf('OTHER', true), 'tool_calls');
  assert.equal(usageFromGemini(undefined), undefined);
  assert.deepEqual(usageFromGemini({ promptTokenCount: 3, toolUsePromptTokenCount: 2 }), {
    inputTokens: 5,
    outputTokens: 0,
  });
});
