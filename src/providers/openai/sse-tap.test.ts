import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenAISseTap } from './sse-tap.js';

const role =
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n';
const token =
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" hi"}}]}\n\n';
const usage =
  'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":2}}}\n\n';
const done = 'data: [DONE]\n\n';

test('the first token is the first chunk with content, not the role-only opener', () => {
  const tap = new OpenAISseTap();
  assert.equal(tap.observe(Buffer.from(role)), false);
  assert.equal(tap.observe(Buffer.from(token)), true);
  assert.equal(tap.observe(Buffer.from(token)), false);
});

test('usage is read off the final chunk, even when split across reads at any byte', () => {
  const whole = role + token + usage + done;
  for (let cut = 1; cut < whole.length; cut += 7) {
    const tap = new OpenAISseTap();
    tap.observe(Buffer.from(whole.slice(0, cut)));
    tap.observe(Buffer.from(whole.slice(cut)));
    assert.deepEqual(tap.usage, { inputTokens: 7, outputTokens: 3, cachedInputTokens: 2 }, `cut at ${cut}`);
    assert.equal(tap.done, true);
  }
});

test('a "usage" inside generated text is not mistaken for usage', () => {
  const tap = new OpenAISseTap();
  tap.observe(Buffer.from('data: {"choices":[{"delta":{"content":"\\"usage\\":{ is json"}}]}\n\n'));
  assert.equal(tap.usage, undefined);
  assert.equal(tap.done, false);
});

test('usage is read off the end of a whole answer, and only a real "usage" key counts', async () => {
  const { usageOfBody } = await import('./adapter.js');
  const answer = (content: string): Buffer =>
    Buffer.from(
      JSON.stringify({
        id: 'c',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: 11,
          completion_tokens: 4,
          total_tokens: 15,
          completion_tokens_details: { reasoning_tokens: 2 },
        },
        system_fingerprint: 'fp',
      }),
    );
  assert.deepEqual(usageOfBody(answer('hi')), { inputTokens: 11, outputTokens: 4, reasoningTokens: 2 });
  assert.deepEqual(usageOfBody(answer('"usage":{"prompt_tokens":999} '.repeat(500))), {
    inputTokens: 11,
    outputTokens: 4,
    reasoningTokens: 2,
  });
  assert.equal(usageOfBody(Buffer.from('{"choices":[]}')), undefined);
  assert.equal(usageOfBody(Buffer.from('{"usage":{"prompt_tokens":1')), undefined);
});
