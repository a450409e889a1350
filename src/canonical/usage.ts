/** Token usage in one vocabulary for every provider. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (billed at the cached rate). */
  cachedInputTokens?: number;
  /** Output tokens spent on hidden reasoning. */
  reasoningTokens?: number;
}

/** Reads OpenAI's usage object (`prompt_tokens`, `completion_tokens`, details), tolerating absent fields. */
export function usageFromOpenAI(raw: unknown): Usage | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const u = raw as Record<string, unknown>;
  const input = u['prompt_tokens'];
  const output = u['completion_tokens'];
  if (typeof input !== 'number') return undefined;
  const usage: Usage = { inputTokens: input, outputTokens: typeof output === 'number' ? output : 0 };
  const promptDetails = u['prompt_tokens_details'] as Record<string, unknown> | null | undefined;
  const cached = promptDetails?.['cached_tokens'];
  if (typeof cached === 'number' && cached > 0) usage.cachedInputTokens = cached;
  const completionDetails = u['completion_tokens_details'] as Record<string, unknown> | null | undefined;
  const reasoning = completionDetails?.['reasoning_tokens'];
  if (typeof reasoning === 'number' && reasoning > 0) usage.reasoningTokens = reasoning;
  return usage;
}
