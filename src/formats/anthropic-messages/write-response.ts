/** A canonical ChatResponse → Anthropic's `message` object. */
import type { ChatChoice, ChatResponse, FinishReason } from '../../canonical/chat.js';
import type { Usage } from '../../canonical/usage.js';

export function anthropicStopReason(reason: FinishReason, stopSequence: string | undefined): string {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return stopSequence === undefined ? 'end_turn' : 'stop_sequence';
  }
}

/** Anthropic counts cache reads and writes apart from input_tokens; canonical inputTokens includes them. */
export function anthropicUsage(usage: Usage | undefined): Record<string, number> {
  if (usage === undefined) return { input_tokens: 0, output_tokens: 0 };
  const cached = usage.cachedInputTokens ?? 0;
  const written = usage.cacheWriteInputTokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.inputTokens - cached - written),
    cache_creation_input_tokens: written,
    cache_read_input_tokens: cached,
    output_tokens: usage.outputTokens,
  };
}

/** Tool arguments are JSON text on the canonical side and an object on Anthropic's. */
export function toolInput(args: string): unknown {
  if (args === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    // A model that produced broken JSON: keep what it said rather than fail the whole answer.
    return { _raw: args };
  }
}

export function messageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

function contentOf(choice: ChatChoice): Record<string, unknown>[] {
  const content: Record<string, unknown>[] = [];
  for (const block of choice.reasoning ?? []) {
    if (block.redacted !== undefined) content.push({ type: 'redacted_thinking', data: block.redacted });
    else content.push({ type: 'thinking', thinking: block.text, signature: block.signature ?? '' });
  }
  const text = choice.text ?? choice.refusal;
  if (text !== null && text !== undefined && text !== '') content.push({ type: 'text', text });
  for (const call of choice.toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call.arguments) });
  }
  return content;
}

export function messageBody(response: ChatResponse): string {
  const choice = response.choices[0];
  return JSON.stringify({
    id: messageId(response.id),
    type: 'message',
    role: 'assistant',
    model: response.model,
    content: choice === undefined ? [] : contentOf(choice),
    stop_reason:
      choice === undefined ? 'end_turn' : anthropicStopReason(choice.finishReason, choice.stopSequence),
    stop_sequence: choice?.stopSequence ?? null,
    usage: anthropicUsage(response.usage),
  });
}
