import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture } from './fixture-files.js';
import { AnthropicSseTap, usageOfAnthropicBody } from './sse-tap.js';

function tap(bytes: Buffer, cuts: number[]): { tap: AnthropicSseTap; firsts: number[] } {
  const watcher = new AnthropicSseTap();
  const firsts: number[] = [];
  let at = 0;
  [...cuts, bytes.length].forEach((cut, i) => {
    if (watcher.observe(bytes.subarray(at, cut))) firsts.push(i);
    at = cut;
  });
  return { tap: watcher, firsts };
}

test('usage (start + delta), the first token and message_stop, at any byte split', () => {
  const bytes = fixture('stream-text.sse');
  for (let cut = 1; cut < bytes.length; cut += 3) {
    const { tap: watched, firsts } = tap(bytes, [cut]);
    assert.equal(watched.done, true, `cut at ${cut}`);
    assert.equal(firsts.length, 1);
    assert.deepEqual(
      watched.usage,
      { inputTokens: 35, outputTokens: 15, cachedInputTokens: 10 },
      `cut at ${cut}`,
    );
  }
});

test('a stream without message_stop is not done; an error event is kept', () => {
  const text = fixture('stream-text.sse');
  const { tap: cut } = tap(text.subarray(0, text.indexOf('event: message_stop')), []);
  assert.equal(cut.done, false);
  const { tap: failed } = tap(fixture('stream-error.sse'), [40]);
  assert.deepEqual(failed.error, {
    type: 'error',
    error: { type: 'overloaded_error', message: 'Overloaded' },
  });
  assert.deepEqual(failed.usage, { inputTokens: 12, outputTokens: 1 });
});

test('usage off a whole message body, read from its end', () => {
  assert.deepEqual(usageOfAnthropicBody(fixture('message-text.json')), {
    inputTokens: 3995,
    outputTokens: 503,
    cachedInputTokens: 1800,
    cacheWriteInputTokens: 100,
  });
  assert.equal(usageOfAnthropicBody(Buffer.from('{"content":[]}')), undefined);
});
