// POST /v1/chat/completions: the non-stream `chat.completion` body, and the handler for both kinds.
import { SYSTEM_FINGERPRINT, planChat, usageOf } from './chat-plan.js';
import type { ChatPlan, ChoicePlan } from './chat-plan.js';
import { streamChat } from './chat-stream.js';
import { afterLatency } from './context.js';
import type { SimulatorContext } from './context.js';
import { generateText } from './engine.js';
import type { Exchange } from './exchange.js';

function messageOf(choice: ChoicePlan): object {
  switch (choice.kind) {
    case 'text':
      return {
        role: 'assistant',
        content: generateText(choice.rng, choice.tokens),
        refusal: null,
        annotations: [],
      };
    case 'json':
      return { role: 'assistant', content: choice.pieces.join(''), refusal: null, annotations: [] };
    case 'tools':
      return {
        role: 'assistant',
        content: null,
        tool_calls: choice.calls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        })),
        refusal: null,
        annotations: [],
      };
  }
}

export function completionBody(plan: ChatPlan): string {
  return JSON.stringify({
    id: plan.id,
    object: 'chat.completion',
    created: plan.created,
    model: plan.model,
    choices: plan.choices.map((choice, index) => ({
      index,
      message: messageOf(choice),
      logprobs: null,
      finish_reason: choice.finish,
    })),
    usage: usageOf(plan),
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  });
}

/** Non-stream replies take latency + ttft + tokens / tokens-per-second before their headers. */
function generationDelay(ctx: SimulatorContext, plan: ChatPlan): number {
  const { ttftMs, tokensPerSecond } = ctx.options;
  if (tokensPerSecond <= 0) return ttftMs;
  const perChoice = Math.ceil(plan.completionTokens / plan.choices.length);
  return ttftMs + (perChoice * 1000) / tokensPerSecond;
}

/** Validation errors propagate to the caller (as ApiError); faults and delays are handled here. */
export function handleChat(ex: Exchange, body: unknown, ctx: SimulatorContext): void {
  const plan = planChat(body, ctx);
  afterLatency(ex, ctx, plan.model, () => {
    if (plan.stream) {
      streamChat(ex, plan, ctx.options, ctx.faults);
      return;
    }
    ex.after(generationDelay(ctx, plan), () => ex.sendJson(200, completionBody(plan)));
  });
}
