// Prompt caching as Anthropic bills it (https://docs.claude.com/en/docs/build-with-claude/prompt-caching):
// a `cache_control` breakpoint caches the prompt prefix up to and including its block (tools, then system,
// then messages). The first request with a prefix writes it (cache_creation_input_tokens); a later one with
// the same prefix reads it (cache_read_input_tokens); input_tokens counts only what follows the last
// breakpoint. Prefixes shorter than the minimum cacheable length are not cached, silently, as upstream.
import { tokensForChars } from '../engine.js';

/** Anthropic's minimum cacheable prompt for Sonnet and Opus models (Haiku's is larger). */
export const MIN_CACHEABLE_TOKENS = 1024;
/** Anthropic allows at most four breakpoints per request. */
export const MAX_BREAKPOINTS = 4;

export interface Breakpoint {
  /** Characters of prompt up to and including the marked block. */
  chars: number;
  /** Hash of that prefix. */
  hash: number;
}

export interface CacheUsage {
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** The prefixes one simulator has cached; it lives as long as the simulator (no TTL: runs are short). */
export class PromptCache {
  private readonly prefixes = new Set<number>();

  /** Splits a prompt of `totalChars` into read, written and uncached tokens, and caches its prefixes. */
  account(totalChars: number, breakpoints: readonly Breakpoint[]): CacheUsage {
    const total = tokensForChars(totalChars);
    const cacheable = breakpoints.filter((b) => tokensForChars(b.chars) >= MIN_CACHEABLE_TOKENS);
    const last = cacheable[cacheable.length - 1];
    if (last === undefined) return { inputTokens: total, cacheReadTokens: 0, cacheWriteTokens: 0 };
    // The longest cached prefix is read; the rest, up to the last breakpoint, is written.
    let read = 0;
    for (let i = cacheable.length - 1; i >= 0; i--) {
      const point = cacheable[i] as Breakpoint;
      if (this.prefixes.has(point.hash)) {
        read = tokensForChars(point.chars);
        break;
      }
    }
    const upToLast = tokensForChars(last.chars);
    for (const point of cacheable) this.prefixes.add(point.hash);
    return { inputTokens: total - upToLast, cacheReadTokens: read, cacheWriteTokens: upToLast - read };
  }
}
