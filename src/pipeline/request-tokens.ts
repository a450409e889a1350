/**
 * A request's tokens for limits and budgets: the prompt counted with the o200k tokenizer and the most
 * the request may produce. Counted once per request, on first need (admission's tpm, then the budget's
 * worst case, then a target's tpm), and kept on the context.
 */
import { inputTokens, loadTokenCounter, maxOutputTokens, promptTokens } from '../admission/token-count.js';
import type { RequestContext, RequestTokens } from './context.js';

export async function requestTokens(ctx: RequestContext): Promise<RequestTokens> {
  if (ctx.tokens !== undefined) return ctx.tokens;
  const counter = await loadTokenCounter();
  const body = ctx.chat?.body;
  ctx.tokens =
    body !== undefined
      ? { input: promptTokens(body, counter), output: maxOutputTokens(body) }
      : { input: inputTokens(ctx.embeddings?.body.input, counter), output: 0 };
  return ctx.tokens;
}
