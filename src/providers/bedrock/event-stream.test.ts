import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { EventStreamFramer, converseStreamDecoder } from './event-stream.js';
import { transcriptBytes } from './fixtures.test-helper.js';

function decodeWhole(bytes: Buffer): StreamPart[] {
  const decoder = converseStreamDecoder('req-1', 'model-x', 'br');
  return [...decoder.push(bytes), ...decoder.end()];
}

/** Feeds `bytes` cut at `cut`, then the rest: every split point must give the same parts. */
function decodeSplit(bytes: Buffer, cut: number): StreamPart[] {
  const decoder = converseStreamDecoder('req-1', 'model-x', 'br');
  return [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut)), ...decoder.end()];
}

const withoutCreated = (parts: StreamPart[]): unknown[] =>
  parts.map((p) => (p.type === 'start' ? { ...p, created: 0 } : p));

test('text transcript: deltas (UTF-8 intact), max_tokens → length, usage', () => {
  const parts = withoutCreated(decodeWhole(transcriptBytes('stream-text.json')));
  assert.deepEqual(parts, [
    { type: 'start', id: 'req-1', model: 'model-x', created: 0 },
    { type: 'text-delta', choice: 0, text: 'Hello' },
    { type: 'text-delta', choice: 0, text: '! Ça va — très bien' },
    { type: 'finish', choice: 0, reason: 'length' },
    { type: 'usage', usage: { inputTokens: 25, outputTokens: 7 } },
  ]);
});

test('tool transcript: reasoning with signature, streamed arguments, a call without arguments', () => {
  const parts = withoutCreated(decodeWhole(transcriptBytes('stream-tool-use.json')));
  assert.deepEqual(parts.slice(1), [
    { type: 'reasoning-delta', choice: 0, text: 'Two cities, ' },
    { type: 'reasoning-delta', choice: 0, text: 'two calls.' },
    { type: 'reasoning-end', choice: 0, signature: 'EqoBCkgIARABGAIiQGsig' },
    {
      type: 'tool-call-delta',
      choice: 0,
      index: 0,
      id: 'tooluse_Paris0000000000000000',
      name: 'get_weather',
      argumentsDelta: '',
    },
    { type: 'tool-call-delta', choice: 0, index: 0, argumentsDelta: '{"city": "Pa' },
    { type: 'tool-call-delta', choice: 0, index: 0, argumentsDelta: 'ris"}' },
    {
      type: 'tool-call-delta',
      choice: 0,
      index: 1,
      id: 'tooluse_Now00000000000000000000',
      name: 'now',
      argumentsDelta: '',
    },
    { type: 'tool-call-delta', choice: 0, index: 1, argumentsDelta: '{}' },
    { type: 'finish', choice: 0, reason: 'tool_calls' },
    { type: 'usage', usage: { inputTokens: 1310, outputTokens: 58, cachedInputTokens: 1000 } },
  ]);
});

test('every byte boundary split gives the same parts', () => {
  for (const name of ['stream-text.json', 'stream-tool-use.json']) {
    const bytes = transcriptBytes(name);
    const expected = withoutCreated(decodeWhole(bytes));
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(withoutCreated(decodeSplit(bytes, cut)), expected, `${name} cut at ${cut}`);
    }
  }
});

test('one byte at a time', () => {
  const bytes = transcriptBytes('stream-tool-use.json');
  const decoder = converseStreamDecoder('req-1', 'model-x', 'br');
  const parts: StreamPart[] = [];
  for (let i = 0; i < bytes.length; i++) parts.push(...decoder.push(bytes.subarray(i, i + 1)));
  parts.push(...decoder.end());
  assert.deepEqual(withoutCreated(parts), withoutCreated(decodeWhole(bytes)));
});

test('an exception event fails the stream with its kind; the parts before it were delivered', () => {
  const bytes = transcriptBytes('stream-exception.json');
  const decoder = converseStreamDecoder('req-1', 'model-x', 'br');
  const last = bytes.length - 1;
  const before = decoder.push(bytes.subarray(0, last));
  assert.deepEqual(
    before.map((p) => p.type),
    ['start', 'text-delta'],
  );
  assert.throws(
    () => decoder.push(bytes.subarray(last)),
    (e: unknown) =>
      e instanceof GatewayError &&
      e.kind === 'upstream_error' &&
      /modelStreamErrorException: The model stream failed/.test(e.message),
  );
});

test('an exception read together with the parts before it: the parts first, then the failure', () => {
  const decoder = converseStreamDecoder('req-1', 'model-x', 'br');
  const parts = decoder.push(transcriptBytes('stream-exception.json'));
  assert.deepEqual(
    parts.map((p) => p.type),
    ['start', 'text-delta'],
  );
  assert.throws(() => decoder.end(), /modelStreamErrorException/);
});

test('a stream that ends before messageStop, or mid-message, is interrupted', () => {
  const bytes = transcriptBytes('stream-text.json');
  const early = converseStreamDecoder('r', 'm', 'br');
  early.push(bytes.subarray(0, 200));
  assert.throws(
    () => early.end(),
    (e: unknown) => e instanceof GatewayError && e.kind === 'upstream_stream_interrupted',
  );
});

test('a corrupt prelude is an upstream error, not a huge allocation', () => {
  const framer = new EventStreamFramer();
  const bad = Buffer.alloc(16);
  bad.writeUInt32BE(0xffffffff, 0);
  assert.throws(
    () => framer.push(bad),
    (e: unknown) => e instanceof GatewayError && e.kind === 'upstream_error',
  );
  const decoder = converseStreamDecoder('r', 'm', 'br');
  const bytes = Buffer.from(transcriptBytes('stream-text.json'));
  bytes[20] = (bytes[20] as number) ^ 0xff;
  assert.throws(() => decoder.push(bytes), /corrupt event stream message/);
});
