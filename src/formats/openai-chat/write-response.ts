/** A canonical ChatResponse → OpenAI's `chat.completion` object. */
import type { ChatResponse } from '../../canonical/chat.js';
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
        refusal: null,
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
