/**
 * Canonical stream parts → OpenAI `chat.completion.chunk` SSE frames, one frame per part as it arrives.
 * With `stream_options.include_usage`, every chunk carries `"usage": null` and a last chunk with empty
 * `choices` carries the usage, as OpenAI does.
 */
import type { StreamPart } from '../../canonical/chat.js';
import type { GatewayError } from '../../errors/gateway-error.js';
import type { ChatStreamWriter } from '../chat-format.js';
import { openAIErrorBody } from '../openai-error.js';
import { openAIUsage } from './write-response.js';

export const doneFrame = 'data: [DONE]\n\n';

export class OpenAIChunkWriter implements ChatStreamWriter {
  private id = '';
  private model = '';
  private created = 0;
  private readonly includeUsage: boolean;

  constructor(includeUsage: boolean) {
    this.includeUsage = includeUsage;
  }

  write(parts: readonly StreamPart[]): string {
    let text = '';
    for (const part of parts) text += this.frame(part);
    return text;
  }

  end(): string {
    return doneFrame;
  }

  error(error: GatewayError): string {
    return errorFrame(error);
  }

  /** The SSE frame for one part, or '' when the part produces none. */
  frame(part: StreamPart): string {
    switch (part.type) {
      case 'start':
        this.id = part.id;
        this.model = part.model;
        this.created = part.created;
        return this.chunk([
          { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
        ]);
      case 'text-delta':
        return this.chunk([
          { index: part.choice, delta: { content: part.text }, logprobs: null, finish_reason: null },
        ]);
      case 'reasoning-delta':
        // The field DeepSeek, vLLM and OpenRouter-style clients read; OpenAI itself streams no reasoning.
        return this.chunk([
          {
            index: part.choice,
            delta: { reasoning_content: part.text },
            logprobs: null,
            finish_reason: null,
          },
        ]);
      case 'reasoning-end':
        return '';
      case 'tool-call-delta': {
        const call: Record<string, unknown> = { index: part.index };
        if (part.id !== undefined) {
          call['id'] = part.id;
          call['type'] = 'function';
        }
        call['function'] =
          part.name === undefined
            ? { arguments: part.argumentsDelta }
            : { name: part.name, arguments: part.argumentsDelta };
        return this.chunk([
          { index: part.choice, delta: { tool_calls: [call] }, logprobs: null, finish_reason: null },
        ]);
      }
      case 'finish':
        return this.chunk([{ index: part.choice, delta: {}, logprobs: null, finish_reason: part.reason }]);
      case 'usage':
        return this.includeUsage ? this.chunk([], openAIUsage(part.usage)) : '';
    }
  }

  private chunk(choices: unknown[], usage: unknown = null): string {
    const body: Record<string, unknown> = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices,
    };
    if (this.includeUsage) body['usage'] = usage;
    return `data: ${JSON.stringify(body)}\n\n`;
  }
}

/** The frame that ends a stream that failed after it started: the openai SDK raises it as an APIError. */
export function errorFrame(error: GatewayError): string {
  return `data: ${openAIErrorBody(error)}\n\n`;
}
