/**
 * Validates an OpenAI chat-completions body just enough to route it and to fail early with a 400 that
 * names the field; everything else passes to the upstream untouched. Hand-written rather than a schema
 * library because it runs on every request and checks only a handful of fields.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { ParsedChatRequest } from '../chat-format.js';

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param });
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const optionalNumbers = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty'] as const;
const optionalIntegers = ['max_tokens', 'max_completion_tokens', 'n', 'seed', 'top_logprobs'] as const;

export function parseChatRequest(value: unknown): ParsedChatRequest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError('invalid_request', `body: expected a JSON object, got ${typeName(value)}`);
  }
  const body = value as Record<string, unknown>;
  const model = body['model'];
  if (model === undefined) throw invalid('model', 'required');
  if (typeof model !== 'string' || model === '')
    throw invalid('model', `expected a non-empty string, got ${typeName(model)}`);

  const messages = body['messages'];
  if (messages === undefined) throw invalid('messages', 'required');
  if (!Array.isArray(messages)) throw invalid('messages', `expected an array, got ${typeName(messages)}`);
  if (messages.length === 0) throw invalid('messages', 'must contain at least one message');
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      throw invalid(`messages[${i}]`, `expected an object, got ${typeName(message)}`);
    }
    const role = (message as Record<string, unknown>)['role'];
    if (typeof role !== 'string')
      throw invalid(
        `messages[${i}].role`,
        role === undefined ? 'required' : `expected a string, got ${typeName(role)}`,
      );
    const content = (message as Record<string, unknown>)['content'];
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw invalid(
        `messages[${i}].content`,
        `expected a string or an array of parts, got ${typeName(content)}`,
      );
    }
  }

  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw invalid('stream', `expected a boolean, got ${typeName(stream)}`);
  }
  let includeUsage = false;
  const streamOptions = body['stream_options'];
  if (streamOptions !== undefined && streamOptions !== null) {
    if (typeof streamOptions !== 'object' || Array.isArray(streamOptions)) {
      throw invalid('stream_options', `expected an object, got ${typeName(streamOptions)}`);
    }
    const flag = (streamOptions as Record<string, unknown>)['include_usage'];
    if (flag !== undefined && typeof flag !== 'boolean') {
      throw invalid('stream_options.include_usage', `expected a boolean, got ${typeName(flag)}`);
    }
    includeUsage = flag === true;
  }
  for (const field of optionalNumbers) {
    const v = body[field];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw invalid(field, `expected a number, got ${typeName(v)}`);
    }
  }
  for (const field of optionalIntegers) {
    const v = body[field];
    if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      throw invalid(field, `expected a non-negative integer, got ${typeName(v)}`);
    }
  }
  const tools = body['tools'];
  if (tools !== undefined && tools !== null && !Array.isArray(tools))
    throw invalid('tools', `expected an array, got ${typeName(tools)}`);
  const stop = body['stop'];
  if (stop !== undefined && stop !== null && typeof stop !== 'string' && !Array.isArray(stop)) {
    throw invalid('stop', `expected a string or an array of strings, got ${typeName(stop)}`);
  }

  return { body: body as ChatRequestBody, inboundBody: body, model, stream: stream === true, includeUsage };
}
