/**
 * An Anthropic Messages answer (https://docs.claude.com/en/api/messages, the `Message` object) → canonical
 * ChatResponse, and the pieces the stream decoder shares with it: stop reasons and usage.
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
import { parseJsonBody } from '../http/upstream-http.js';

/**
 * Anthropic stop_reason → OpenAI finish_reason. pause_turn (a server tool paused a long turn) ends this
 * answer like a normal stop; model_context_window_exceeded is a length stop; refusal is a content filter.
 */
export function finishOf(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

/**
 * Anthropic usage → canonical: Anthropic's input_tokens excludes cache reads and writes, which it reports
 * apart; canonical inputTokens counts all three (OpenAI's accounting).
 */
export function usageFromAnthropic(value: Json): Usage {
  const cacheRead = count(value['cache_read_input_tokens']);
  const cacheWrite = count(value['cache_creation_input_tokens']);
  const usage: Usage = {
    inputTokens: count(value['input_tokens']) + cacheRead + cacheWrite,
    outputTokens: count(value['output_tokens']),
  };
  if (cacheRead > 0) usage.cachedInputTokens = cacheRead;
  if (cacheWrite > 0) usage.cacheWriteInputTokens = cacheWrite;
  const details = value['output_tokens_details'];
  if (isObject(details) && count(details['thinking_tokens']) > 0)
    usage.reasoningTokens = count(details['thinking_tokens']);
  return usage;
}

export interface ResponseOptions {
  /** The tool emulating json_object (request.ts): its input is the answer's text. */
  jsonTool: string | undefined;
}

export function chatResponseFromAnthropic(
  body: Buffer,
  provider: string,
  options: ResponseOptions,
): ChatResponse {
  const parsed = parseJsonBody(body, provider);
  if (!isObject(parsed) || !Array.isArray(parsed['content'])) {
    throw new GatewayError('upstream_error', `provider ${provider} answered without content`);
  }
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  const reasoning: ReasoningBlock[] = [];
  let emulatedJson = false;
  for (const block of parsed['content']) {
    if (!isObject(block)) continue;
    switch (block['type']) {
      case 'text':
        if (typeof block['text'] === 'string') text = (text ?? '') + block['text'];
        break;
      case 'tool_use': {
        const name = String(block['name'] ?? '');
        const args = JSON.stringify(block['input'] ?? {});
        if (options.jsonTool !== undefined && name === options.jsonTool) {
          emulatedJson = true;
          text = (text ?? '') + args;
        } else {
          toolCalls.push({ id: String(block['id'] ?? ''), name, arguments: args });
        }
        break;
      }
      case 'thinking':
        reasoning.push({
          text: typeof block['thinking'] === 'string' ? block['thinking'] : '',
          ...(typeof block['signature'] === 'string' ? { signature: block['signature'] } : {}),
        });
        break;
      case 'redacted_thinking':
        if (typeof block['data'] === 'string') reasoning.push({ text: '', redacted: block['data'] });
        break;
      // Server tool blocks (web search results, ...) have no canonical form and are left out.
    }
  }
  const stopReason = parsed['stop_reason'];
  let finishReason = finishOf(stopReason);
  // The emulated json_object answer ends in tool_use; to the client it is a finished text answer.
  if (emulatedJson && finishReason === 'tool_calls' && toolCalls.length === 0) finishReason = 'stop';
  const choice: ChatChoice = { index: 0, text, toolCalls, finishReason };
  if (stopReason === 'stop_sequence' && typeof parsed['stop_sequence'] === 'string')
    choice.stopSequence = parsed['stop_sequence'];
  if (reasoning.length > 0) choice.reasoning = reasoning;
  const response: ChatResponse = {
    id: typeof parsed['id'] === 'string' ? parsed['id'] : '',
    model: typeof parsed['model'] === 'string' ? parsed['model'] : '',
    created: Math.floor(Date.now() / 1000),
    choices: [choice],
  };
  if (isObject(parsed['usage'])) response.usage = usageFromAnthropic(parsed['usage']);
  return response;
}
