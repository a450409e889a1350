import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAnthropicError, streamErrorOf } from './errors.js';
import { fixture } from './fixture-files.js';
import { chatResponseFromAnthropic, finishOf, usageFromAnthropic } from './response.js';

const none = { jsonTool: undefined };

test('a text message: text, stop sequence, and usage with cache reads and writes added to input', () => {
  const response = chatResponseFromAnthropic(fixture('message-text.json'), 'claude', none);
  assert.equal(response.id, 'msg_013Zva2CMHLNnXjNJJKqJ2EF');
  assert.equal(response.model, 'claude-sonnet-4-5-20250929');
  assert.deepEqual(response.choices, [
    {
      index: 0,
      text: 'Hi! My name is Claude.',
      toolCalls: [],
      finishReason: 'stop',
      stopSequence: '\n\nHuman:',
    },
  ]);
  assert.deepEqual(response.usage, {
    inputTokens: 2095 + 1800 + 100,
    outputTokens: 503,
    cachedInputTokens: 1800,
    cacheWriteInputTokens: 100,
  });
});

test('tool_use blocks become tool calls with their input as JSON text', () => {
  const response = chatResponseFromAnthropic(fixture('message-tool-use.json'), 'claude', none);
  const choice = response.choices[0];
  assert.equal(choice?.finishReason, 'tool_calls');
  assert.equal(choice?.text, "I'll check the weather in both cities.");
  assert.deepEqual(choice?.toolCalls, [
    {
      id: 'toolu_01A09q90qw90lq917835lq9',
      name: 'get_weather',
      arguments: '{"location":"San Francisco, CA","unit":"celsius"}',
    },
    { id: 'toolu_01B18r01rx01mr028946mr0', name: 'get_weather', arguments: '{"location":"New York, NY"}' },
  ]);
  assert.deepEqual(response.usage, { inputTokens: 472, outputTokens: 96 });
});

test('thinking and redacted thinking become signed reasoning blocks; max_tokens is length', () => {
  const response = chatResponseFromAnthropic(fixture('message-thinking.json'), 'claude', none);
  const choice = response.choices[0];
  assert.equal(choice?.finishReason, 'length');
  assert.equal(choice?.text, 'Based on my analysis, the answer is 42.');
  assert.equal(choice?.reasoning?.length, 2);
  assert.equal(choice?.reasoning?.[0]?.text, 'Let me analyze this step by step...');
  assert.match(choice?.reasoning?.[0]?.signature ?? '', /^WaUjzkyp/);
  assert.equal(choice?.reasoning?.[1]?.text, '');
  assert.match(choice?.reasoning?.[1]?.redacted ?? '', /^EmwKAhgB/);
  // null cache fields count as none; thinking tokens are reported as reasoning.
  assert.deepEqual(response.usage, { inputTokens: 56, outputTokens: 2048, reasoningTokens: 1500 });
});

test('the json_object emulation tool comes back as text with finish stop', () => {
  const body = Buffer.from(
    JSON.stringify({
      id: 'msg_1',
      model: 'm',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'json_response', input: { a: [1, 'b'] } }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 1, output_tokens: 2 },
    }),
  );
  const choice = chatResponseFromAnthropic(body, 'claude', { jsonTool: 'json_response' }).choices[0];
  assert.equal(choice?.text, '{"a":[1,"b"]}');
  assert.deepEqual(choice?.toolCalls, []);
  assert.equal(choice?.finishReason, 'stop');
});

test('stop reasons map to OpenAI finish reasons', () => {
  assert.equal(finishOf('end_turn'), 'stop');
  assert.equal(finishOf('stop_sequence'), 'stop');
  assert.equal(finishOf('pause_turn'), 'stop');
  assert.equal(finishOf('max_tokens'), 'length');
  assert.equal(finishOf('model_context_window_exceeded'), 'length');
  assert.equal(finishOf('tool_use'), 'tool_calls');
  assert.equal(finishOf('refusal'), 'content_filter');
  assert.deepEqual(usageFromAnthropic({}), { inputTokens: 0, outputTokens: 0 });
});

test('a body that is not a message is the provider’s fault', () => {
  assert.throws(
    () => chatResponseFromAnthropic(Buffer.from('<html>'), 'claude', none),
    (error: unknown) => (error as { kind?: string }).kind === 'upstream_error',
  );
  assert.throws(
    () => chatResponseFromAnthropic(Buffer.from('{"type":"message"}'), 'claude', none),
    /without content/,
  );
});

test('error bodies: the message is read; in-stream errors map by type', () => {
  assert.deepEqual(readAnthropicError(fixture('error-invalid-request.json')), {
    message: 'max_tokens: Field required',
  });
  assert.deepEqual(readAnthropicError(Buffer.from('Bad Gateway')), {});
  const overloaded = streamErrorOf(JSON.parse(fixture('error-overloaded.json').toString('utf8')), 'claude');
  assert.equal(overloaded.kind, 'upstream_overloaded');
  assert.equal(overloaded.retryAfterSeconds, 1);
  const other = streamErrorOf(
    { type: 'error', error: { type: 'api_error', message: 'Internal server error' } },
    'claude',
  );
  assert.equal(other.kind, 'upstream_error');
  assert.match(other.message, /api_error: Internal server error/);
});
