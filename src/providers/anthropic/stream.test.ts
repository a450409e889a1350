import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamPart } from '../../canonical/chat.js';
import { fixture } from './fixture-files.js';
import { anthropicStreamDecoder } from './stream.js';

const none = { jsonTool: undefined };

/** Feeds `bytes` in pieces cut at `cuts` (byte offsets) and returns every part the decoder produced. */
function decode(bytes: Buffer, cuts: number[], jsonTool?: string): StreamPart[] {
  const decoder = anthropicStreamDecoder('claude', { jsonTool });
  const parts: StreamPart[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    parts.push(...decoder.push(bytes.subarray(at, cut)));
    at = cut;
  }
  parts.push(...decoder.end());
  return parts;
}

/** Parts with the start part's clock-dependent `created` removed. */
const stable = (parts: StreamPart[]): unknown[] =>
  parts.map((part) => (part.type === 'start' ? { ...part, created: 0 } : part));

test('a text stream: start with usage, text deltas, finish, final usage', () => {
  const parts = stable(decode(fixture('stream-text.sse'), []));
  assert.deepEqual(parts, [
    {
      type: 'start',
      id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      model: 'claude-sonnet-4-5-20250929',
      created: 0,
      usage: { inputTokens: 35, outputTokens: 1, cachedInputTokens: 10 },
    },
    { type: 'text-delta', choice: 0, text: 'Hello' },
    { type: 'text-delta', choice: 0, text: ' wörld ✓' },
    { type: 'finish', choice: 0, reason: 'stop' },
    { type: 'usage', usage: { inputTokens: 35, outputTokens: 15, cachedInputTokens: 10 } },
  ]);
});

test('split at every byte boundary, including inside multi-byte characters, the parts are the same', () => {
  for (const name of ['stream-text.sse', 'stream-tool-use.sse', 'stream-thinking.sse']) {
    const bytes = fixture(name);
    const whole = stable(decode(bytes, []));
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(stable(decode(bytes, [cut])), whole, `${name} cut at byte ${cut}`);
    }
    // And in many small pieces.
    const cuts: number[] = [];
    for (let i = 3; i < bytes.length; i += 7) cuts.push(i);
    const pieces = stable(decode(bytes, cuts)).filter((p) => (p as StreamPart).type !== 'text-delta');
    assert.deepEqual(
      pieces,
      whole.filter((p) => (p as StreamPart).type !== 'text-delta'),
      name,
    );
  }
});

test('tool_use blocks: id and name first, then argument deltas, indexed among the calls', () => {
  const parts = decode(fixture('stream-tool-use.sse'), []).filter((p) => p.type === 'tool-call-delta');
  assert.deepEqual(parts, [
    {
      type: 'tool-call-delta',
      choice: 0,
      index: 0,
      id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
      name: 'get_weather',
      argumentsDelta: '',
    },
    { type: 'tool-call-delta', choice: 0, index: 0, argumentsDelta: '{"location":' },
    { type: 'tool-call-delta', choice: 0, index: 0, argumentsDelta: ' "San Francisco, CA"}' },
    {
      type: 'tool-call-delta',
      choice: 0,
      index: 1,
      id: 'toolu_02U2y2gK45rBnl3uOUsO8Vq7',
      name: 'get_time',
      argumentsDelta: '',
    },
    { type: 'tool-call-delta', choice: 0, index: 1, argumentsDelta: '{"zone": "PST"}' },
  ]);
  const finish = decode(fixture('stream-tool-use.sse'), []).find((p) => p.type === 'finish');
  assert.deepEqual(finish, { type: 'finish', choice: 0, reason: 'tool_calls' });
});

test('thinking: reasoning deltas, then reasoning-end carrying the signature at the block’s stop', () => {
  const parts = decode(fixture('stream-thinking.sse'), []);
  const kinds = parts.map((p) => p.type);
  assert.deepEqual(kinds, [
    'start',
    'reasoning-delta',
    'reasoning-delta',
    'reasoning-end',
    'text-delta',
    'finish',
    'usage',
  ]);
  assert.deepEqual(parts[3], {
    type: 'reasoning-end',
    choice: 0,
    signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...',
  });
  assert.deepEqual(parts[6], {
    type: 'usage',
    usage: { inputTokens: 30, outputTokens: 120, reasoningTokens: 80 },
  });
});

test('an error event throws the mapped error; a stream without message_stop is interrupted', () => {
  assert.throws(
    () => decode(fixture('stream-error.sse'), []),
    (error: unknown) => (error as { kind?: string }).kind === 'upstream_overloaded',
  );
  const text = fixture('stream-text.sse');
  const cut = text.subarray(0, text.indexOf('event: message_delta'));
  assert.throws(
    () => decode(cut, []),
    (error: unknown) => (error as { kind?: string }).kind === 'upstream_stream_interrupted',
  );
});

test('the json_object emulation tool streams as text and finishes as stop', () => {
  const sse = fixture('stream-tool-use.sse').toString('utf8').replaceAll('get_weather', 'json_response');
  const parts = decode(Buffer.from(sse), [], 'json_response');
  const text = parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : [])).join('');
  assert.equal(text, 'Okay, let me check.{"location": "San Francisco, CA"}');
  assert.deepEqual(
    parts.filter((p) => p.type === 'tool-call-delta').map((p) => (p as { index: number }).index),
    [0, 0],
  );
  assert.deepEqual(
    parts.find((p) => p.type === 'finish'),
    { type: 'finish', choice: 0, reason: 'tool_calls' },
  );
  assert.equal(none.jsonTool, undefined);
});
