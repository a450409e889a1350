import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorTable, type ErrorKind } from '../errors/error-table.js';
import { GatewayError } from '../errors/gateway-error.js';
import {
  classifyFailure,
  isRetryable,
  takesFallback,
  triesOtherTargets,
  type FailureClass,
} from './failure-class.js';

/** An upstream 4xx as upstream-errors.ts builds it: the provider's message, its code, the status. */
const badRequest = (message: string, code?: string, status = 400): GatewayError =>
  new GatewayError('upstream_bad_request', message, { status, upstream: { status, code, headers: {} } });

test('every error kind has a class; upstream failures of the moment are retryable', () => {
  const expected: Partial<Record<ErrorKind, FailureClass>> = {
    upstream_rate_limited: 'rate_limited',
    upstream_overloaded: 'overloaded',
    no_available_target: 'overloaded',
    upstream_error: 'server',
    upstream_timeout: 'timeout',
    upstream_unreachable: 'connection',
    upstream_stream_interrupted: 'stream',
    upstream_auth_failed: 'auth',
    client_closed: 'cancelled',
    shutting_down: 'cancelled',
    invalid_request: 'client',
    unsupported_feature: 'client',
    model_not_found: 'client',
    internal: 'client',
  };
  for (const kind of Object.keys(errorTable) as ErrorKind[]) {
    const cls = classifyFailure(new GatewayError(kind, 'x'));
    // The rest are the request's fault (an upstream 400 without a telling message included).
    assert.equal(cls, expected[kind] ?? 'client', kind);
  }
});

test('OpenAI and Azure: context window by code or message', () => {
  const message =
    "This model's maximum context length is 4097 tokens. However, your messages resulted in 4294 tokens. Please reduce the length of the messages.";
  assert.equal(classifyFailure(badRequest(message, 'context_length_exceeded')), 'context_window');
  assert.equal(
    classifyFailure(badRequest(message)),
    'context_window',
    'message alone (a compatible without code)',
  );
  assert.equal(
    classifyFailure(
      badRequest(
        'Your input exceeds the context window of this model. Please adjust your input and try again.',
        'context_length_exceeded',
      ),
    ),
    'context_window',
  );
  assert.equal(
    classifyFailure(badRequest('whatever', 'CONTEXT_LENGTH_EXCEEDED')),
    'context_window',
    'code case-insensitive',
  );
});

test('Anthropic: prompt is too long', () => {
  assert.equal(
    classifyFailure(
      badRequest('prompt is too long: 219898 tokens > 200000 maximum', 'invalid_request_error'),
    ),
    'context_window',
  );
  assert.equal(
    classifyFailure(
      badRequest(
        'input length and max_tokens exceed context limit: 198981 + 21333 > 200000, decrease input length or max_tokens and try again',
      ),
    ),
    'context_window',
  );
});

test('Gemini, Bedrock, Mistral, Cohere: context window messages', () => {
  for (const message of [
    'The input token count (3475108) exceeds the maximum number of tokens allowed (1048576).',
    'The input token count exceeds the maximum number of tokens allowed (1048576).',
    'Input is too long for requested model.',
    'The model returned the following errors: Input is too long for requested model.',
    'too many input tokens',
    'Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length',
    'too many tokens: total number of tokens in the prompt cannot exceed 4081 - received 4577. Try using a shorter prompt, or enabling prompt truncating.',
    "too many tokens: size limit exceeded by 1183 tokens. Try using shorter or fewer inputs, or setting prompt_truncation='AUTO'.",
  ]) {
    assert.equal(classifyFailure(badRequest(message)), 'context_window', message);
  }
});

test('content policy refusals by code or message', () => {
  const azure =
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";
  assert.equal(classifyFailure(badRequest(azure, 'content_filter')), 'content_policy');
  assert.equal(classifyFailure(badRequest(azure)), 'content_policy');
  assert.equal(
    classifyFailure(
      badRequest('Your request was rejected as a result of our safety system.', 'content_policy_violation'),
    ),
    'content_policy',
  );
  assert.equal(
    classifyFailure(badRequest('Your request was rejected as a result of our safety system.')),
    'content_policy',
  );
  assert.equal(
    classifyFailure(badRequest('Output blocked by content filtering policy', 'invalid_request_error')),
    'content_policy',
  );
  assert.equal(classifyFailure(badRequest('The prompt was blocked by Gemini (SAFETY).')), 'content_policy');
  assert.equal(classifyFailure(badRequest('Prompt blocked: PROHIBITED_CONTENT')), 'content_policy');
  assert.equal(classifyFailure(badRequest('Guardrail intervened', 'guardrail_intervened')), 'content_policy');
});

test('a plain bad request stays a client error', () => {
  for (const [message, code] of [
    ["Invalid value for 'temperature': must be between 0 and 2.", 'invalid_value'],
    [
      'max_tokens is too large: 100000. This model supports at most 4096 completion tokens, whereas you provided 100000.',
      'invalid_value',
    ],
    ['messages: roles must alternate between "user" and "assistant"', 'invalid_request_error'],
    ['Please set the safety settings correctly.', undefined],
    ["Invalid 'safety_identifier': string too long.", undefined],
    ['Too many tokens in batch. Max is 16384 got 17555', undefined],
    ['Malformed input request: #/messages/0: required key [content] not found', undefined],
  ] as const) {
    assert.equal(classifyFailure(badRequest(message, code)), 'client', message);
  }
  // Kinds decide before messages: a 5xx that mentions a long prompt is still a server failure.
  assert.equal(
    classifyFailure(new GatewayError('upstream_error', 'provider x answered 500: prompt is too long')),
    'server',
  );
});

test('retryable: failures of the moment only', () => {
  const retryable: FailureClass[] = [
    'rate_limited',
    'overloaded',
    'server',
    'timeout',
    'connection',
    'stream',
  ];
  const not: FailureClass[] = ['context_window', 'content_policy', 'auth', 'client', 'cancelled'];
  for (const cls of retryable) assert.equal(isRetryable(cls), true, cls);
  for (const cls of not) assert.equal(isRetryable(cls), false, cls);
});

test('auth: never retried, but other targets and fallbacks are tried', () => {
  assert.equal(isRetryable('auth'), false);
  assert.equal(triesOtherTargets('auth'), true);
  assert.equal(takesFallback('auth'), 'fallbacks');
  assert.equal(triesOtherTargets('client'), false);
  assert.equal(triesOtherTargets('context_window'), false, 'the same model has the same window');
  assert.equal(triesOtherTargets('cancelled'), false);
  assert.equal(triesOtherTargets('timeout'), true);
});

test('fallback lists per class', () => {
  for (const cls of ['rate_limited', 'overloaded', 'server', 'timeout', 'connection', 'stream'] as const) {
    assert.equal(takesFallback(cls), 'fallbacks', cls);
  }
  assert.equal(takesFallback('context_window'), 'context_fallbacks');
  assert.equal(takesFallback('content_policy'), 'policy_fallbacks');
  assert.equal(takesFallback('client'), undefined);
  assert.equal(takesFallback('cancelled'), undefined);
});
