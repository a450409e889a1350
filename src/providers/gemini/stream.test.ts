import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { StreamPart } from '../../canonical/chat.js';
import { isGatewayError } from '../../errors/gateway-error.js';
import { geminiStreamDecoder } from './stream.js';

const transcript = (name: string): Buffer => {
  const { events } = JSON.parse(
    readFileSync(new URL(`../../../../test/fixtures/gemini/${name}`, import.meta.url), 'utf8'),
  ) as { events: unknown[] };
  // The Gemini API frames its events with CRLF line ends.
  return Buffer.from(events.map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`).join(''));
};

const options = { provider: 'gem', model: 'gemini-2.5-flash', singleToolCall: false };

/** Feeds `bytes` in pieces of `size` bytes (splitting events, lines and multi-byte characters). */
function decode(bytes: Buffer, size: number, opts = options): StreamPart[] {
  const decoder = geminiStreamDecoder(opts);
  const parts: StreamPart[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(...decoder.push(bytes.subarray(i, i + size)));
  parts.push(...decoder.end());
  return parts;
}

/** Text deltas merged, so splits at any boundary compare equal. */
function normalise(parts: StreamPart[]): StreamPart[] {
  const out: StreamPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if ((part.type === 'text-delta' || part.type === 'reasoning-delta') && last?.type === part.type) {
      last.text += part.text;
    } else out.push(part.type === 'start' ? { ...part, created: 0 } : { ...part });
  }
  return out;
}

test('text stream: start, reasoning then its signed end, text deltas, finish, usage', () => {
  assert.deepEqual(normalise(decode(transcript('stream-text.json'), 1 << 20)), [
    { type: 'start', id: 'stream-text-1', model: 'gemini-2.5-flash', created: 0 },
    { type: 'reasoning-delta', choice: 0, text: '**Planning** a greeting' },
    { type: 'reasoning-end', choice: 0, signature: 'CiQsig-stream-0001' },
    { type: 'text-delta', choice: 0, text: 'Bonjour, ça va? 🌍' },
    { type: 'finish', choice: 0, reason: 'stop' },
    { type: 'usage', usage: { inputTokens: 8, outputTokens: 26, reasoningTokens: 20 } },
  ]);
});

test('the same parts whatever the chunking, down to one byte at a time (UTF-8 split included)', () => {
  const bytes = transcript('stream-text.json');
  const whole = normalise(decode(bytes, bytes.length));
  for (const size of [1, 2, 3, 7, 64])
    assert.deepEqual(normalise(decode(bytes, size)), whole, `chunks of ${size}`);
});

test('function calls: one delta each with id, name and whole arguments; finish tool_calls', () => {
  const parts = decode(transcript('stream-function-call.json'), 5);
  const calls = parts.filter((p) => p.type === 'tool-call-delta');
  assert.deepEqual(calls, [
    {
      type: 'tool-call-delta',
      choice: 0,
      index: 0,
      id: 'call_stream-fc-1_0',
      name: 'get_weather',
      argumentsDelta: '{"city":"Lyon"}',
    },
    {
      type: 'tool-call-delta',
      choice: 0,
      index: 1,
      id: 'call_stream-fc-1_1',
      name: 'get_time',
      argumentsDelta: '{}',
    },
  ]);
  assert.deepEqual(
    parts.find((p) => p.type === 'finish'),
    { type: 'finish', choice: 0, reason: 'tool_calls' },
  );
  assert.deepEqual(
    parts.find((p) => p.type === 'reasoning-end'),
    { type: 'reasoning-end', choice: 0, signature: 'CiQsig-fc-0001' },
  );
  const single = decode(transcript('stream-function-call.json'), 64, { ...options, singleToolCall: true });
  assert.equal(single.filter((p) => p.type === 'tool-call-delta').length, 1);
});

test('an error event after the start is a GatewayError of its status', () => {
  assert.throws(
    () => decode(transcript('stream-error.json'), 16),
    (error: unknown) =>
      isGatewayError(error) && error.kind === 'upstream_overloaded' && /overloaded/.test(error.message),
  );
});

test('a body that ends before any finishReason is an interrupted stream', () => {
  const bytes = transcript('stream-text.json');
  const cut = bytes.subarray(0, bytes.indexOf('finishReason'));
  assert.throws(
    () => decode(cut, 32),
    (error: unknown) => isGatewayError(error) && error.kind === 'upstream_stream_interrupted',
  );
});

test("a malformed event is the provider's fault", () => {
  const decoder = geminiStreamDecoder(options);
  assert.throws(
    () => decoder.push(Buffer.from('data: {not json\r\n\r\n')),
    (error: unknown) => isGatewayError(error) && error.kind === 'upstream_error',
  );
});
