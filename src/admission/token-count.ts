/**
 * Token counts for admission (tokens-per-minute limits): the prompt counted with a real tokenizer
 * (gpt-tokenizer's o200k_base, the encoding of GPT-4o and later) plus the request's maximum output as a
 * reservation, settled to the actual usage when the answer is done.
 *
 * Other providers' tokenizers are not public (Anthropic, Gemini) or differ (Llama, Mistral); o200k is used
 * for every model as an approximation, typically within 10–20% of the provider's own count, which is what a
 * reservation needs: the settlement corrects it to the provider's reported usage. Message framing follows
 * OpenAI's published rule (3 tokens per message, 3 to prime the reply); an image counts as a flat 765 tokens
 * (a 1024×1024 image at OpenAI's high detail), since its size is not known without decoding it.
 *
 * The tokenizer's tables cost about 80 MB of memory and 200 ms to load, so they are loaded on first use,
 * only by a gateway that has tpm limits.
 */
import { isObject } from '../canonical/json.js';

export interface TokenCounter {
  count(text: string): number;
}

const perMessage = 3;
const replyPriming = 3;
export const imageTokens = 765;
/** The reservation when a request names no maximum output. */
export const defaultOutputReservation = 4_096;

let loading: Promise<TokenCounter> | undefined;

/** The o200k counter, loaded once. */
export function loadTokenCounter(): Promise<TokenCounter> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => ({
    count: (text) => m.countTokens(text),
  }));
  return loading;
}

function contentTokens(content: unknown, counter: TokenCounter): number {
  if (typeof content === 'string') return counter.count(content);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const part of content) {
    if (!isObject(part)) continue;
    if (typeof part['text'] === 'string') tokens += counter.count(part['text']);
    else if (part['type'] === 'image_url') tokens += imageTokens;
  }
  return tokens;
}

/** Prompt tokens of a canonical (OpenAI-shaped) chat body: messages, tool calls and tool definitions. */
export function promptTokens(body: Record<string, unknown>, counter: TokenCounter): number {
  let tokens = replyPriming;
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const message of messages) {
      if (!isObject(message)) continue;
      tokens += perMessage + contentTokens(message['content'], counter);
      if (typeof message['name'] === 'string') tokens += counter.count(message['name']) + 1;
      const calls = message['tool_calls'];
      if (Array.isArray(calls)) tokens += counter.count(JSON.stringify(calls));
    }
  }
  const tools = body['tools'];
  if (Array.isArray(tools) && tools.length > 0) tokens += counter.count(JSON.stringify(tools));
  return tokens;
}

/** What a request reserves against a tpm limit: its prompt plus the most it may produce. */
export function reservedTokens(body: Record<string, unknown>, counter: TokenCounter): number {
  return promptTokens(body, counter) + maxOutputTokens(body);
}

/** The most a chat request may produce: its `max_completion_tokens` / `max_tokens`, else the default. */
export function maxOutputTokens(body: Record<string, unknown>): number {
  const cap = body['max_completion_tokens'] ?? body['max_tokens'];
  return typeof cap === 'number' && Number.isInteger(cap) && cap > 0 ? cap : defaultOutputReservation;
}

/** An embeddings input's tokens: strings counted, token arrays by length. */
export function inputTokens(input: unknown, counter: TokenCounter): number {
  if (typeof input === 'string') return counter.count(input);
  let tokens = 0;
  if (Array.isArray(input))
    for (const item of input)
      tokens += typeof item === 'string' ? counter.count(item) : Array.isArray(item) ? item.length : 0;
  return tokens;
}
