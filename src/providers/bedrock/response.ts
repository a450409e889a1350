/**
 * Bedrock Converse answer → canonical ChatResponse
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax).
 * Shared with the stream decoder: the stop reasons and the usage accounting.
 */
import type {
  ChatChoice,
  ChatResponse,
  FinishReason,
  ReasoningBlock,
  ToolCall,
} from '../../canonical/chat.js';
import type { Usage } from '../../canonical/usage.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject, type Json } from '../../canonical/json.js';
export { isObject } from '../../canonical/json.js';

/**
 * Converse stop reasons → OpenAI's. A malformed tool call or output is the model's failure ('error'); a full
 * context window, like max_tokens, cut the answer short ('length').
 */
export function finishOf(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    case 'malformed_model_output':
    case 'malformed_tool_use':
      return 'error';
    default:
      // end_turn, stop_sequence, and anything newer than this table.
      return 'stop';
  }
}

const count = (value: unknown): number => (typeof value === 'number' && value > 0 ? value : 0);

/**
 * Bedrock's TokenUsage counts cache reads and writes apart from `inputTokens` (as Anthropic does); the
 * canonical inputTokens counts every input token, so they are added up.
 */
export function usageFromConverse(value: unknown): Usage | undefined {
  if (!isObject(value) || typeof value['inputTokens'] !== 'number') return undefined;
  const read = count(value['cacheReadInputTokens']);
  const write = count(value['cacheWriteInputTokens']);
  const usage: Usage = {
    inputTokens: value['inputTokens'] + read + write,
    outputTokens: count(value['outputTokens']),
  };
  if (read > 0) usage.cachedInputTokens = read;
  if (write > 0) usage.cacheWriteInputTokens = write;
  return usage;
}

function reasoningOf(block: Json): ReasoningBlock | undefined {
  const text = block['reasoningText'];
  if (isObject(text)) {
    return {
      text: typeof text['text'] === 'string' ? text['text'] : '',
      ...(typeof text['signature'] === 'string' ? { signature: text['signature'] } : {}),
    };
  }
  // Blob members are base64 in the JSON protocol; kept as that text, it goes back unchanged next turn.
  const redacted = block['redactedContent'];
  if (typeof redacted === 'string') return { text: '', redacted };
  return undefined;
}

/** A parsed ConverseResponse → ChatResponse; `id` is Bedrock's request id (the body carries none). */
export function chatResponseFromConverse(
  parsed: unknown,
  id: string,
  model: string,
  provider: string,
): ChatResponse {
  const output = isObject(parsed) ? parsed['output'] : undefined;
  const message = isObject(output) ? output['message'] : undefined;
  if (!isObject(parsed) || !isObject(message) || !Array.isArray(message['content'])) {
    throw new GatewayError('upstream_error', `provider ${provider} answered without output.message`);
  }
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  const reasoning: ReasoningBlock[] = [];
  for (const block of message['content']) {
    if (!isObject(block)) continue;
    if (typeof block['text'] === 'string') {
      text = (text ?? '') + block['text'];
    } else if (isObject(block['toolUse'])) {
      const use = block['toolUse'];
      toolCalls.push({
        id: typeof use['toolUseId'] === 'string' ? use['toolUseId'] : '',
        name: typeof use['name'] === 'string' ? use['name'] : '',
        arguments: JSON.stringify(use['input'] ?? {}),
      });
    } else if (isObject(block['reasoningContent'])) {
      const part = reasoningOf(block['reasoningContent']);
      if (part !== undefined) reasoning.push(part);
    }
  }
  const choice: ChatChoice = {
    index: 0,
    text,
    toolCalls,
    finishReason: finishOf(parsed['stopReason']),
  };
  if (reasoning.length > 0) choice.reasoning = reasoning;
  const response: ChatResponse = {
    id,
    model,
    created: Math.floor(Date.now() / 1000),
    choices: [choice],
  };
  const usage = usageFromConverse(parsed['usage']);
  if (usage !== undefined) response.usage = usage;
  return response;
}
