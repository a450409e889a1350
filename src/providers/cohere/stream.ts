/**
 * Cohere v2 chat stream → canonical parts. The stream is SSE (`event: <type>` plus a JSON `data` carrying the
 * same `type`), ending with `message-end` (finish reason and usage) and then `data: [DONE]`
 * (https://docs.cohere.com/v2/docs/streaming). Content blocks are indexed and typed (text or thinking) at
 * `content-start`; tool calls open with `tool-call-start` (id, name) and grow by `tool-call-delta`.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import type { StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { sseDecoder } from '../http/sse-decoder.js';
import type { StreamDecoder } from '../http/translated-stream.js';
import { finishFromCohere, isObject, usageFromCohere } from './response.js';
import { type Json } from '../../canonical/json.js';

/** `delta.message` of an event, or {} when absent. */
function deltaMessage(event: Json): Json {
  const delta = event['delta'];
  if (!isObject(delta)) return {};
  return isObject(delta['message']) ? delta['message'] : {};
}

export function cohereStreamDecoder(model: string, provider: string): StreamDecoder {
  let done = false;
  /** Indices of the content blocks that are thinking, so their end closes a reasoning block. */
  const thinkingBlocks = new Set<number>();

  const onEvent = (event: EventSourceMessage, out: StreamPart[]): void => {
    if (event.data === '[DONE]') return;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      throw new GatewayError('upstream_error', `provider ${provider} sent a malformed stream event`);
    }
    if (!isObject(data)) return;
    const index = typeof data['index'] === 'number' ? data['index'] : 0;
    switch (data['type'] ?? event.event) {
      case 'message-start':
        out.push({
          type: 'start',
          id: typeof data['id'] === 'string' ? data['id'] : '',
          model,
          created: Math.floor(Date.now() / 1000),
        });
        return;
      case 'content-start':
      case 'content-delta': {
        const content = deltaMessage(data)['content'];
        if (!isObject(content)) return;
        if (content['type'] === 'thinking') thinkingBlocks.add(index);
        const thinking = content['thinking'];
        if (typeof thinking === 'string' && thinking !== '') {
          thinkingBlocks.add(index);
          out.push({ type: 'reasoning-delta', choice: 0, text: thinking });
        }
        const text = content['text'];
        if (typeof text === 'string' && text !== '') out.push({ type: 'text-delta', choice: 0, text });
        return;
      }
      case 'content-end':
        if (thinkingBlocks.delete(index)) out.push({ type: 'reasoning-end', choice: 0 });
        return;
      case 'tool-plan-delta': {
        // The plan is the text of a tool-calling turn (see response.ts).
        const plan = deltaMessage(data)['tool_plan'];
        if (typeof plan === 'string' && plan !== '') out.push({ type: 'text-delta', choice: 0, text: plan });
        return;
      }
      case 'tool-call-start':
      case 'tool-call-delta': {
        const call = deltaMessage(data)['tool_calls'];
        if (!isObject(call)) return;
        const fn = isObject(call['function']) ? call['function'] : {};
        const part: StreamPart & { type: 'tool-call-delta' } = {
          type: 'tool-call-delta',
          choice: 0,
          index,
          argumentsDelta: typeof fn['arguments'] === 'string' ? fn['arguments'] : '',
        };
        if (typeof call['id'] === 'string') part.id = call['id'];
        if (typeof fn['name'] === 'string') part.name = fn['name'];
        out.push(part);
        return;
      }
      case 'message-end': {
        done = true;
        const delta = isObject(data['delta']) ? data['delta'] : {};
        if (typeof delta['error'] === 'string' && delta['error'] !== '') {
          throw new GatewayError(
            'upstream_error',
            `provider ${provider} reported an error: ${delta['error']}`,
          );
        }
        // A thinking block the stream never closed still ends before the finish.
        if (thinkingBlocks.size > 0) out.push({ type: 'reasoning-end', choice: 0 });
        thinkingBlocks.clear();
        out.push({ type: 'finish', choice: 0, reason: finishFromCohere(delta['finish_reason']) });
        const usage = usageFromCohere(delta['usage']);
        if (usage !== undefined) out.push({ type: 'usage', usage });
        return;
      }
      default:
        // tool-call-end, citation-start/-end, debug: nothing the canonical stream carries.
        return;
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
