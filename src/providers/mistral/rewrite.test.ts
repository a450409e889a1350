// Mistral's request rewrite and answer normalisation, against documented-format fixtures (test/fixtures/mistral/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { upstreamHttpError } from '../http/upstream-errors.js';
import { chatResponseFromOpenAI, openAIStreamDecoder } from '../openai/translate.js';
import { readMistralError } from './adapter.js';
import { FinishReasonRewriter, normaliseMistralAnswer } from './answer.js';
import { toMistralChat, toMistralEmbeddings } from './rewrite.js';

const fixtures = new URL('../../../../test/fixtures/mistral/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, fixtures));

describe('canonical request → Mistral', () => {
  test('renames seed, max_completion_tokens and "required"; drops what only OpenAI tracks', () => {
    const body = {
      model: 'mistral-small-latest',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello', refusal: null, annotations: [] },
      ],
      seed: 42,
      max_completion_tokens: 100,
      tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      parallel_tool_calls: false,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
      user: 'u-1',
      logprobs: false,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
    };
    const snapshot = structuredClone(body);
    const out = toMistralChat(body, 'mi');
    assert.deepEqual(out, {
      model: 'mistral-small-latest',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
      random_seed: 42,
      max_tokens: 100,
      tool_choice: 'any',
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      parallel_tool_calls: false,
      n: 2,
      stream: true,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
    });
    assert.deepEqual(body, snapshot, 'the canonical body is never mutated');
  });

  test('a body with nothing to change is returned as is (no copy)', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 0.3 };
    assert.equal(toMistralChat(body, 'mi'), body);
  });

  test('OpenAI features Mistral lacks are refused, naming feature and provider', () => {
    for (const [field, value] of [
      ['logprobs', true],
      ['logit_bias', { '50256': -100 }],
      ['reasoning_effort', 'high'],
      ['thinking', { type: 'enabled', budget_tokens: 1024 }],
      ['top_k', 5],
      ['audio', { voice: 'alloy' }],
    ] as const) {
      assert.throws(
        () => toMistralChat({ model: 'm', messages: [], [field]: value }, 'mi'),
        (error: unknown) =>
          error instanceof GatewayError &&
          error.kind === 'unsupported_feature' &&
          error.param === field &&
          error.message.includes('provider mi'),
        field,
      );
    }
  });

  test('embeddings: dimensions → output_dimension, token ids refused', () => {
    assert.deepEqual(toMistralEmbeddings({ model: 'e', input: ['a'], dimensions: 512 }, 'mi'), {
      model: 'e',
      input: ['a'],
      output_dimension: 512,
    });
    assert.throws(() => toMistralEmbeddings({ model: 'e', input: [[1, 2]] }, 'mi'), GatewayError);
  });
});

describe('Mistral answers in OpenAI vocabulary', () => {
  test('model_length → length; the same text inside content is left alone', () => {
    const answer = JSON.parse(normaliseMistralAnswer(fixture('chat-model-length.json')).toString()) as {
      choices: { finish_reason: string; message: { content: string } }[];
    };
    assert.equal(answer.choices[0]?.finish_reason, 'length');
    assert.match(answer.choices[0]?.message.content ?? '', /"model_length" finish/);
  });

  test('Magistral chunk content → text plus reasoning_content, read as reasoning', () => {
    const response = chatResponseFromOpenAI(normaliseMistralAnswer(fixture('chat-magistral.json')), 'mi');
    assert.equal(response.choices[0]?.text, 'The answer is 4.');
    assert.deepEqual(response.choices[0]?.reasoning, [{ text: '2 + 2 is 4.' }]);
  });

  test('an ordinary answer is the same buffer (pass-through stays zero-copy)', () => {
    const body = fixture('chat-tool-call.json');
    assert.equal(normaliseMistralAnswer(body), body);
  });

  test('the stream rewriter renames model_length across any chunk boundary', () => {
    const bytes = fixture('stream-model-length.sse');
    const expected = bytes.toString().replace('"model_length"', '"length"');
    for (const size of [1, 2, 3, 5, 13, 14, 15, 4096]) {
      const rewriter = new FinishReasonRewriter();
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) out.push(rewriter.push(bytes.subarray(at, at + size)));
      out.push(rewriter.flush());
      assert.equal(Buffer.concat(out).toString(), expected, `chunks of ${size}`);
    }
  });

  test('decoded through the rewriter, the stream finishes with length and usage', () => {
    const rewriter = new FinishReasonRewriter();
    const decoder = openAIStreamDecoder('mi');
    const parts: StreamPart[] = [];
    const bytes = fixture('stream-model-length.sse');
    for (let at = 0; at < bytes.length; at += 9)
      parts.push(...decoder.push(rewriter.push(bytes.subarray(at, at + 9))));
    parts.push(...decoder.push(rewriter.flush()), ...decoder.end());
    assert.deepEqual(
      parts.find((p) => p.type === 'finish'),
      { type: 'finish', choice: 0, reason: 'length' },
    );
    assert.deepEqual(parts.at(-1), { type: 'usage', usage: { inputTokens: 5, outputTokens: 2 } });
  });

  test('error bodies: the 422 detail names the field, the top-level message is kept', () => {
    assert.deepEqual(readMistralError(fixture('error-422.json')), {
      message: 'user: Extra inputs are not permitted',
      param: 'user',
    });
    const error = upstreamHttpError('mi', 400, {}, fixture('error-400.json'), readMistralError);
    assert.equal(error.kind, 'upstream_bad_request');
    assert.match(error.message, /too large for model/);
  });
});
