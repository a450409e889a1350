/**
 * Anthropic's streamed Messages (https://docs.claude.com/en/docs/build-with-claude/streaming) → canonical
 * stream parts. The event sequence is message_start, then per content block content_block_start /
 * content_block_delta* / content_block_stop, then message_delta (stop reason, final usage) and
 * message_stop; ping may come anywhere and `event: error` replaces the rest when the API fails midway.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import type { StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { sseDecoder } from '../http/sse-decoder.js';
import type { StreamDecoder } from '../http/translated-stream.js';
import { streamErrorOf } from './errors.js';
import { finishOf, usageFromAnthropic } from './response.js';
import { isObject, type Json } from '../../canonical/json.js';

type Block =
  | { kind: 'text' }
  /** `call` is the block's position among the answer's tool calls (canonical index). */
  | { kind: 'tool'; call: number }
  /** The json_object emulation tool: its arguments are the answer's text. */
  | { kind: 'json' }
  | { kind: 'thinking'; signature: string | undefined }
  | { kind: 'redacted'; data: string }
  | { kind: 'other' };

export interface StreamOptions {
  jsonTool: string | undefined;
}

/** A decoder for one stream; it keeps the open blocks by their Anthropic index. */
export function anthropicStreamDecoder(provider: string, options: StreamOptions): StreamDecoder {
  const blocks = new Map<number, Block>();
  let calls = 0;
  let emulatedJson = false;
  let startUsage: Json = {};
  let done = false;

  const blockStart = (index: number, block: Json, out: StreamPart[]): void => {
    switch (block['type']) {
      case 'text':
        blocks.set(index, { kind: 'text' });
        if (typeof block['text'] === 'string' && block['text'] !== '')
          out.push({ type: 'text-delta', choice: 0, text: block['text'] });
        return;
      case 'tool_use': {
        const name = String(block['name'] ?? '');
        if (options.jsonTool !== undefined && name === options.jsonTool) {
          emulatedJson = true;
          blocks.set(index, { kind: 'json' });
          return;
        }
        const call = calls++;
        blocks.set(index, { kind: 'tool', call });
        out.push({
          type: 'tool-call-delta',
          choice: 0,
          index: call,
          id: String(block['id'] ?? ''),
          name,
          argumentsDelta: '',
        });
        return;
      }
      case 'thinking':
        blocks.set(index, { kind: 'thinking', signature: undefined });
        if (typeof block['thinking'] === 'string' && block['thinking'] !== '')
          out.push({ type: 'reasoning-delta', choice: 0, text: block['thinking'] });
        return;
      case 'redacted_thinking':
        blocks.set(index, { kind: 'redacted', data: typeof block['data'] === 'string' ? block['data'] : '' });
        return;
      default:
        // Server tool use and its results have no canonical part.
        blocks.set(index, { kind: 'other' });
    }
  };

  const blockDelta = (block: Block | undefined, delta: Json, out: StreamPart[]): void => {
    if (block === undefined) return;
    switch (delta['type']) {
      case 'text_delta':
        if (block.kind === 'text' && typeof delta['text'] === 'string')
          out.push({ type: 'text-delta', choice: 0, text: delta['text'] });
        return;
      case 'input_json_delta': {
        const json = delta['partial_json'];
        if (typeof json !== 'string' || json === '') return;
        if (block.kind === 'tool')
          out.push({ type: 'tool-call-delta', choice: 0, index: block.call, argumentsDelta: json });
        else if (block.kind === 'json') out.push({ type: 'text-delta', choice: 0, text: json });
        return;
      }
      case 'thinking_delta':
        if (block.kind === 'thinking' && typeof delta['thinking'] === 'string')
          out.push({ type: 'reasoning-delta', choice: 0, text: delta['thinking'] });
        return;
      case 'signature_delta':
        if (block.kind === 'thinking' && typeof delta['signature'] === 'string')
          block.signature = (block.signature ?? '') + delta['signature'];
        return;
      // citations_delta: citations have no canonical form.
    }
  };

  const blockStop = (block: Block | undefined, out: StreamPart[]): void => {
    if (block?.kind === 'thinking') {
      out.push({
        type: 'reasoning-end',
        choice: 0,
        ...(block.signature === undefined ? {} : { signature: block.signature }),
      });
    } else if (block?.kind === 'redacted') {
      out.push({ type: 'reasoning-end', choice: 0, redacted: block.data });
    }
  };

  const onEvent = (event: EventSourceMessage, out: StreamPart[]): void => {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw new GatewayError('upstream_error', `provider ${provider} sent a malformed stream event`);
    }
    if (!isObject(data)) return;
    switch (data['type']) {
      case 'message_start': {
        const message = isObject(data['message']) ? data['message'] : {};
        startUsage = isObject(message['usage']) ? message['usage'] : {};
        out.push({
          type: 'start',
          id: typeof message['id'] === 'string' ? message['id'] : '',
          model: typeof message['model'] === 'string' ? message['model'] : '',
          created: Math.floor(Date.now() / 1000),
          usage: usageFromAnthropic(startUsage),
        });
        return;
      }
      case 'content_block_start':
        if (typeof data['index'] === 'number' && isObject(data['content_block']))
          blockStart(data['index'], data['content_block'], out);
        return;
      case 'content_block_delta':
        if (typeof data['index'] === 'number' && isObject(data['delta']))
          blockDelta(blocks.get(data['index']), data['delta'], out);
        return;
      case 'content_block_stop':
        if (typeof data['index'] === 'number') blockStop(blocks.get(data['index']), out);
        return;
      case 'message_delta': {
        const delta = isObject(data['delta']) ? data['delta'] : {};
        const stopReason = delta['stop_reason'];
        if (stopReason !== undefined && stopReason !== null) {
          let reason = finishOf(stopReason);
          if (emulatedJson && reason === 'tool_calls' && calls === 0) reason = 'stop';
          out.push({
            type: 'finish',
            choice: 0,
            reason,
            ...(stopReason === 'stop_sequence' && typeof delta['stop_sequence'] === 'string'
              ? { stopSequence: delta['stop_sequence'] }
              : {}),
          });
        }
        if (isObject(data['usage'])) {
          // message_delta's usage is cumulative; its input fields may be null, then message_start's hold.
          const merged: Json = { ...startUsage };
          for (const [key, value] of Object.entries(data['usage'])) if (value !== null) merged[key] = value;
          out.push({ type: 'usage', usage: usageFromAnthropic(merged) });
        }
        return;
      }
      case 'message_stop':
        done = true;
        return;
      case 'error':
        throw streamErrorOf(data, provider);
      // ping, and event types added later, carry nothing to translate.
    }
  };

  return sseDecoder({
    onEvent,
    onEnd() {
      if (!done) {
        throw new GatewayError('upstream_stream_interrupted', `provider ${provider} ended the stream early`);
      }
    },
  });
}
