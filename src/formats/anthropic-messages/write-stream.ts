/**
 * Canonical stream parts → Anthropic's event sequence: message_start, then one content block at a time
 * (content_block_start, its deltas, content_block_stop), message_delta with the stop reason and usage, and
 * message_stop. Anthropic blocks are strictly sequential, so a part of a different kind (or a new tool call)
 * closes the open block first. Only the first choice is written: the Messages API has no `n`.
 */
import type { FinishReason, StreamPart } from '../../canonical/chat.js';
import type { Usage } from '../../canonical/usage.js';
import type { GatewayError } from '../../errors/gateway-error.js';
import type { ChatStreamWriter } from '../chat-format.js';
import { anthropicErrorEvent } from './errors.js';
import { anthropicStopReason, anthropicUsage, messageId } from './write-response.js';

type Block = 'text' | 'thinking' | 'tool_use' | undefined;

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export class AnthropicEventWriter implements ChatStreamWriter {
  private started = false;
  private index = -1;
  private open: Block = undefined;
  /** The canonical index of the tool call whose block is open. */
  private toolIndex = -1;
  private finish: FinishReason = 'stop';
  private stopSequence: string | undefined;
  private usage: Usage | undefined;

  write(parts: readonly StreamPart[]): string {
    let out = '';
    for (const part of parts) out += this.frame(part);
    return out;
  }

  end(): string {
    let out = this.started ? '' : this.start('', '');
    out += this.close();
    const usage = anthropicUsage(this.usage);
    out += event('message_delta', {
      delta: {
        stop_reason: anthropicStopReason(this.finish, this.stopSequence),
        stop_sequence: this.stopSequence ?? null,
      },
      usage,
    });
    return out + event('message_stop', {});
  }

  error(error: GatewayError): string {
    return anthropicErrorEvent(error);
  }

  private start(id: string, model: string): string {
    this.started = true;
    const usage = anthropicUsage(this.usage);
    return (
      event('message_start', {
        message: {
          id: messageId(id),
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 0 },
        },
      }) + event('ping', {})
    );
  }

  private close(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return event('content_block_stop', { index: this.index });
  }

  private openBlock(kind: Block, block: Record<string, unknown>): string {
    const closing = this.close();
    this.index++;
    this.open = kind;
    return closing + event('content_block_start', { index: this.index, content_block: block });
  }

  private frame(part: StreamPart): string {
    if (part.type === 'start') {
      if (part.usage !== undefined) this.usage = part.usage;
      return this.started ? '' : this.start(part.id, part.model);
    }
    if (part.type === 'usage') {
      this.usage = part.usage;
      return '';
    }
    if (part.choice !== 0) return '';
    let out = this.started ? '' : this.start('', '');
    switch (part.type) {
      case 'text-delta':
        if (part.text === '') return out;
        if (this.open !== 'text') out += this.openBlock('text', { type: 'text', text: '' });
        return (
          out +
          event('content_block_delta', { index: this.index, delta: { type: 'text_delta', text: part.text } })
        );
      case 'reasoning-delta':
        if (this.open !== 'thinking')
          out += this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
        return (
          out +
          event('content_block_delta', {
            index: this.index,
            delta: { type: 'thinking_delta', thinking: part.text },
          })
        );
      case 'reasoning-end':
        if (part.redacted !== undefined) {
          out += this.openBlock(undefined, { type: 'redacted_thinking', data: part.redacted });
          return out + event('content_block_stop', { index: this.index });
        }
        if (this.open !== 'thinking') {
          if (part.signature === undefined) return out;
          // A signature with no thinking open (Gemini signs its last text part or first function call,
          // even with no thought text): a thinking block of its own, as the non-stream answer has it, so
          // the client can send it back.
          out += this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
        }
        if (part.signature !== undefined) {
          out += event('content_block_delta', {
            index: this.index,
            delta: { type: 'signature_delta', signature: part.signature },
          });
        }
        return out + this.close();
      case 'tool-call-delta':
        if (this.open !== 'tool_use' || (part.id !== undefined && part.index !== this.toolIndex)) {
          this.toolIndex = part.index;
          out += this.openBlock('tool_use', {
            type: 'tool_use',
            id: part.id ?? '',
            name: part.name ?? '',
            input: {},
          });
        }
        if (part.argumentsDelta === '') return out;
        return (
          out +
          event('content_block_delta', {
            index: this.index,
            delta: { type: 'input_json_delta', partial_json: part.argumentsDelta },
          })
        );
      case 'finish':
        this.finish = part.reason;
        this.stopSequence = part.stopSequence;
        return out + this.close();
    }
  }
}
