/**
 * Cohere v2 Chat answer → canonical ChatResponse (https://docs.cohere.com/v2/reference/chat, "Response").
 * `message.content` is a list of text and thinking items; tool calls are OpenAI-shaped; `tool_plan` (the
 * model's note on why it calls tools) becomes the text of a tool-calling turn, as Anthropic's text before a
 * tool_use is, and request.ts sends it back as the tool plan. Cohere answers have no model name or creation
 * time, so the target's model and the arrival time stand in.
 */
import type { ChatChoice, ChatResponse, FinishReason, ReasoningBlock } from '../../canonical/chat.js';
import type { Usage } from '../../canonical/usage.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject } from '../../canonical/json.js';
export { isObject } from '../../canonical/json.js';

/** Cohere's finish reasons; TIMEOUT (the generation hit Cohere's own time limit) is a provider failure. */
export function finishFromCohere(value: unknown): FinishReason {
  switch (value) {
    case 'MAX_TOKENS':
      return 'length';
    case 'TOOL_CALL':
      return 'tool_calls';
    case 'ERROR':
    case 'TIMEOUT':
      return 'error';
    default:
      // COMPLETE, STOP_SEQUENCE, and anything new: a normal end.
      return 'stop';
  }
}

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * `billed_units` is what Cohere charges (the prompt without its own chat template), `tokens` what the model
 * saw; accounting follows the bill, falling back to `tokens` when an answer carries only that.
 */
export function usageFromCohere(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const billed = isObject(value['billed_units']) ? value['billed_units'] : {};
  const tokens = isObject(value['tokens']) ? value['tokens'] : {};
  const input = count(billed['input_tokens']) ?? count(tokens['input_tokens']);
  const output = count(billed['output_tokens']) ?? count(tokens['output_tokens']);
  if (input === undefined && output === undefined) return undefined;
  const usage: Usage = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  const cached = count(value['cached_tokens']);
  if (cached !== undefined && cached > 0) usage.cachedInputTokens = cached;
  return usage;
}

export function chatResponseFromCohere(parsed: unknown, model: string, provider: string): ChatResponse {
  if (!isObject(parsed) || !isObject(parsed['message'])) {
    throw new GatewayError('upstream_error', `provider ${provider} answered without a message`);
  }
  const message = parsed['message'];
  let text = '';
  const reasoning: ReasoningBlock[] = [];
  if (typeof message['content'] === 'string') text = message['content'];
  else if (Array.isArray(message['content'])) {
    for (const item of message['content']) {
      if (!isObject(item)) continue;
      if (item['type'] === 'text' && typeof item['text'] === 'string') text += item['text'];
      else if (item['type'] === 'thinking' && typeof item['thinking'] === 'string') {
        reasoning.push({ text: item['thinking'] });
      }
    }
  }
  const toolCalls = Array.isArray(message['tool_calls'])
    ? message['tool_calls'].filter(isObject).map((call) => {
        const fn = isObject(call['function']) ? call['function'] : {};
        return {
          id: typeof call['id'] === 'string' ? call['id'] : '',
          name: typeof fn['name'] === 'string' ? fn['name'] : '',
          arguments: typeof fn['arguments'] === 'string' ? fn['arguments'] : '{}',
        };
      })
    : [];
  const plan = message['tool_plan'];
  if (text === '' && toolCalls.length > 0 && typeof plan === 'string') text = plan;
  const choice: ChatChoice = {
    index: 0,
    text: text === '' && toolCalls.length > 0 ? null : text,
    toolCalls,
    finishReason: finishFromCohere(parsed['finish_reason']),
  };
  if (reasoning.length > 0) choice.reasoning = reasoning;
  const response: ChatResponse = {
    id: typeof parsed['id'] === 'string' ? parsed['id'] : '',
    model,
    created: Math.floor(Date.now() / 1000),
    choices: [choice],
  };
  const usage = usageFromCohere(parsed['usage']);
  if (usage !== undefined) response.usage = usage;
  return response;
}
