/** A canonical ChatResponse → OpenAI's `chat.completion` object. */
import type { ChatResponse, ReasoningBlock } from '../../canonical/chat.js';
import type { Usage } from '../../canonical/usage.js';

export function openAIUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

function thinkingBlock(block: ReasoningBlock): Record<string, unknown> {
  if (block.redacted !== undefined) return { type: 'redacted_thinking', data: block.redacted };
  return {
    type: 'thinking',
    thinking: block.text,
    ...(block.signature === undefined ? {} : { signature: block.signature }),
  };
}

export function chatCompletionBody(response: ChatResponse): string {
  return JSON.stringify({
    id: response.id,
    object: 'chat.completion',
    created: response.created,
    model: response.model,
    choices: response.choices.map((choice) => ({
      index: choice.index,
      message: {
        role: 'assistant',
        content: choice.text,
        refusal: choice.refusal ?? null,
        ...(choice.reasoning === undefined || choice.reasoning.length === 0
          ? {}
          : {
              reasoning_content: choice.reasoning.map((block) => block.text).join(''),
              // Signed blocks, for clients that send the message back on the next turn (tool use with
              // Anthropic thinking requires them): the canonical extension readChatRequest reads.
              ...(choice.reasoning.some((b) => b.signature !== undefined || b.redacted !== undefined)
                ? { thinking_blocks: choice.reasoning.map(thinkingBlock) }
                : {}),
            }),
        ...(choice.toolCalls.length > 0
          ? {
              tool_calls: choice.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      },
      logprobs: null,
      finish_reason: choice.finishReason,
    })),
    ...(response.usage === undefined ? {} : { usage: openAIUsage(response.usage) }),
  });
}
