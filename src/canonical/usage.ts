/**
 * Token usage in one vocabulary for every provider, in OpenAI's accounting: `inputTokens` counts every input
 * token, cached or not (Anthropic reports cache reads and writes apart from input_tokens; its translator
 * adds them up), and `outputTokens` includes reasoning tokens.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (billed at the cached rate). */
  cachedInputTokens?: number;
  /** Input tokens written to the provider's prompt cache (Anthropic bills them at a premium). */
  cacheWriteInputTokens?: number;
  /** Output tokens spent on reasoning (included in outputTokens). */
  reasoningTokens?: number;
}

const promptTokens = /"prompt_tokens":(\d+)/;
const completionTokens = /"completion_tokens":(\d+)/;
const cachedTokens = /"cached_tokens":(\d+)/;
const reasoningTokens = /"reasoning_tokens":(\d+)/;

/**
 * Reads OpenAI usage from the text of a usage object (`{"prompt_tokens":..}`) with four small regexes
 * instead of JSON.parse: on the hot path the parse of this nested object cost more than the rest of the
 * answer's handling. The field names are unique inside a usage object, and a key must be followed by `":`
 * and digits, so `prompt_tokens_details` never matches `prompt_tokens`.
 */
export function usageFromOpenAIText(text: string): Usage | undefined {
  const input = promptTokens.exec(text);
  if (input === null) return undefined;
  const output = completionTokens.exec(text);
  const usage: Usage = {
    inputTokens: Number(input[1]),
    outputTokens: output === null ? 0 : Number(output[1]),
  };
  const cached = cachedTokens.exec(text);
  if (cached !== null && cached[1] !== '0') usage.cachedInputTokens = Number(cached[1]);
  const reasoning = reasoningTokens.exec(text);
  if (reasoning !== null && reasoning[1] !== '0') usage.reasoningTokens = Number(reasoning[1]);
  return usage;
}
