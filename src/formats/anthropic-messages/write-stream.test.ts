import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamPart } from '../../canonical/chat.js';
import { AnthropicEventWriter } from './write-stream.js';

/** The `data:` objects of the events written, in order. */
function events(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as Record<string, unknown>);
}

test('a signature arriving with no thinking block open becomes a signed thinking block of its own', () => {
  // Gemini signs its first function call even when it sent no thought text.
  const writer = new AnthropicEventWriter();
  const parts: StreamPart[] = [
    { type: 'start', id: 'r1', model: 'gemini-3-pro', created: 0 },
    { type: 'reasoning-end', choice: 0, signature: 'sig-1' },
    { type: 'tool-call-delta', choice: 0, index: 0, id: 'call_1', name: 'f', argumentsDelta: '{}' },
    { type: 'finish', choice: 0, reason: 'tool_calls' },
  ];
  const written = events(writer.write(parts) + writer.end());
  const blocks = written.filter((e) => e['type'] !== 'ping').map((e) => [e['type'], e['index']]);
  assert.deepEqual(blocks, [
    ['message_start', undefined],
    ['content_block_start', 0],
    ['content_block_delta', 0],
    ['content_block_stop', 0],
    ['content_block_start', 1],
    ['content_block_delta', 1],
    ['content_block_stop', 1],
    ['message_delta', undefined],
    ['message_stop', undefined],
  ]);
  assert.deepEqual(written[2], {
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'thinking', thinking: '', signature: '' },
  });
  assert.deepEqual(written[3], {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'signature_delta', signature: 'sig-1' },
  });
});

test('a signature after text closes the text block and is kept; an unsigned end with nothing open writes nothing', () => {
  const writer = new AnthropicEventWriter();
  const out = writer.write([
    { type: 'start', id: 'r2', model: 'm', created: 0 },
    { type: 'text-delta', choice: 0, text: 'Hi' },
    { type: 'reasoning-end', choice: 0 },
    { type: 'reasoning-end', choice: 0, signature: 'sig-2' },
  ]);
  const types = events(out).map((e) => `${String(e['type'])}:${String(e['index'] ?? '')}`);
  assert.deepEqual(types, [
    'message_start:',
    'ping:',
    'content_block_start:0',
    'content_block_delta:0',
    'content_block_stop:0',
    'content_block_start:1',
    'content_block_delta:1',
    'content_block_stop:1',
  ]);
});
