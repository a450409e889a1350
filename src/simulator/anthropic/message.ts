// The non-stream Message body, and the usage object both kinds of answer report.
import { generateText } from '../engine.js';
import type { BlockPlan, MessagePlan } from './plan.js';

/** Usage as Anthropic reports it: input_tokens excludes the cache reads and writes reported beside it. */
export function usageObject(plan: MessagePlan, outputTokens: number): object {
  const { inputTokens, cacheReadTokens, cacheWriteTokens } = plan.usage;
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: cacheWriteTokens,
    cache_read_input_tokens: cacheReadTokens,
    cache_creation: { ephemeral_5m_input_tokens: cacheWriteTokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function blockOf(block: BlockPlan): object {
  switch (block.kind) {
    case 'text':
      return { type: 'text', text: generateText(block.rng, block.tokens) };
    case 'fixed-text':
      return { type: 'text', text: block.pieces.join('') };
    case 'thinking':
      return { type: 'thinking', thinking: block.pieces.join(''), signature: block.signature };
    case 'tool':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.value };
  }
}

export function messageBody(plan: MessagePlan): string {
  return JSON.stringify({
    id: plan.id,
    type: 'message',
    role: 'assistant',
    model: plan.model,
    content: plan.blocks.map(blockOf),
    stop_reason: plan.stopReason,
    stop_sequence: plan.stopSequence,
    usage: usageObject(plan, plan.usage.outputTokens),
  });
}
