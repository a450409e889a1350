/**
 * The maintained price table: list prices in USD per million tokens, standard (synchronous, on-demand)
 * tier, text input. Batch, flex, priority and provisioned tiers, per-image and per-audio prices and
 * negotiated discounts are not here: a deployment billed differently sets `price` in the config.
 *
 * Prices as of December 2026, checked then against each provider's own published pages:
 * - OpenAI: developers.openai.com/api/docs/pricing and the per-model pages (…/api/docs/models/<id>).
 *   `cachedInput` is OpenAI's "cached input" price.
 * - Anthropic: platform.claude.com/docs/en/about-claude/pricing. `cachedInput` is "cache hits and
 *   refreshes", `cacheWrite` the 5-minute cache write (1-hour writes cost 2x input, not 1.25x: see
 *   docs/prices.md). Sonnet 4.x long-context (>200k input) rates are not modelled.
 * - AWS Bedrock: aws.amazon.com/bedrock/pricing, us-east-1 on-demand. For Claude Sonnet 4.5, Haiku 4.5
 *   and Opus 4.5 the listed rate is the global cross-Region one; geographic profiles (us., eu., apac., …)
 *   and in-Region calls cost 10% more (docs.aws.amazon.com/bedrock/latest/userguide/
 *   global-cross-region-inference.html), so those ids carry 1.1x the global rates. Earlier Claude models
 *   have one rate whatever the profile. Other Regions may price differently.
 * - Google Gemini API: ai.google.dev/gemini-api/docs/pricing, paid tier. Gemini 2.5 Pro uses the
 *   prompts ≤200k tokens tier (above it Google bills 2x input and 1.5x output). Gemini 2.0 models are
 *   deprecated but kept so existing deployments stay priced.
 * - Mistral: mistral.ai/pricing and the model cards on docs.mistral.ai. Only versioned ids: the
 *   `*-latest` aliases move to new models with new prices (Medium moved from $0.40/$2 to $1.50/$7.50
 *   in 2026), so an alias is priced in the config, not guessed here.
 * - Cohere: cohere.com/pricing; Command R+ and Command A are its legacy per-token rates.
 *
 * An entry without `cachedInput` bills cached tokens at the input price, and without `cacheWrite` bills
 * written tokens at the input price: the conservative reading where a discount was not verified.
 */

export interface TableEntry {
  /** USD per million uncached input tokens. */
  readonly input: number;
  /** USD per million output tokens (reasoning included). */
  readonly output: number;
  /** USD per million input tokens read from the provider's prompt cache. */
  readonly cachedInput?: number;
  /** USD per million input tokens written to the prompt cache (Anthropic, 5-minute TTL). */
  readonly cacheWrite?: number;
}

const claudeSonnet: TableEntry = { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 };
const claudeOpus4: TableEntry = { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 };
const claudeOpus45: TableEntry = { input: 5, output: 25, cachedInput: 0.5, cacheWrite: 6.25 };
const claudeHaiku45: TableEntry = { input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25 };
const claudeHaiku35: TableEntry = { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 };

/** Keys are upstream model ids, lowercase, as the provider names them (Bedrock: with `-v1:0`). */
export const PRICE_TABLE: Readonly<Record<string, TableEntry>> = Object.freeze({
  // OpenAI
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  // The first GPT-4o snapshot kept its launch price; a dated id must not fall through to gpt-4o.
  'gpt-4o-2024-05-13': { input: 5, output: 15 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  o1: { input: 15, output: 60, cachedInput: 7.5 },
  // o3 after the June 2025 price cut (it launched at $10/$40).
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  'gpt-5': { input: 1.25, output: 10, cachedInput: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cachedInput: 0.025 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cachedInput: 0.005 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },

  // Anthropic (dated ids such as claude-sonnet-4-5-20250929 resolve here by stripping the date)
  'claude-3-5-haiku': claudeHaiku35,
  'claude-3-7-sonnet': claudeSonnet,
  'claude-sonnet-4': claudeSonnet,
  'claude-sonnet-4-5': claudeSonnet,
  'claude-sonnet-4-6': claudeSonnet,
  'claude-opus-4': claudeOpus4,
  'claude-opus-4-1': claudeOpus4,
  'claude-opus-4-5': claudeOpus45,
  'claude-opus-4-6': claudeOpus45,
  'claude-haiku-4-5': claudeHaiku45,

  // AWS Bedrock: Anthropic on Bedrock
  'anthropic.claude-3-5-haiku-20241022-v1:0': claudeHaiku35,
  'anthropic.claude-3-7-sonnet-20250219-v1:0': claudeSonnet,
  'anthropic.claude-sonnet-4-20250514-v1:0': claudeSonnet,
  'anthropic.claude-opus-4-20250514-v1:0': claudeOpus4,
  'anthropic.claude-opus-4-1-20250805-v1:0': claudeOpus4,
  'global.anthropic.claude-sonnet-4-5-20250929-v1:0': claudeSonnet,
  'anthropic.claude-sonnet-4-5-20250929-v1:0': {
    input: 3.3,
    output: 16.5,
    cachedInput: 0.33,
    cacheWrite: 4.125,
  },
  'global.anthropic.claude-haiku-4-5-20251001-v1:0': claudeHaiku45,
  'anthropic.claude-haiku-4-5-20251001-v1:0': {
    input: 1.1,
    output: 5.5,
    cachedInput: 0.11,
    cacheWrite: 1.375,
  },
  'global.anthropic.claude-opus-4-5-20251101-v1:0': claudeOpus45,
  'anthropic.claude-opus-4-5-20251101-v1:0': {
    input: 5.5,
    output: 27.5,
    cachedInput: 0.55,
    cacheWrite: 6.875,
  },
  // AWS Bedrock: Amazon models. Only Nova Pro's cache-read rate was verified.
  'amazon.nova-micro-v1:0': { input: 0.035, output: 0.14 },
  'amazon.nova-lite-v1:0': { input: 0.06, output: 0.24 },
  'amazon.nova-pro-v1:0': { input: 0.8, output: 3.2, cachedInput: 0.2 },
  'amazon.titan-embed-text-v2:0': { input: 0.02, output: 0 },

  // Google Gemini API (`-001` snapshots and the `models/` prefix resolve here)
  'gemini-2.5-pro': { input: 1.25, output: 10, cachedInput: 0.125 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5, cachedInput: 0.03 },
  'gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cachedInput: 0.01 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
  'gemini-embedding-001': { input: 0.15, output: 0 },

  // Mistral
  'mistral-large-2407': { input: 2, output: 6 },
  'mistral-large-2411': { input: 2, output: 6 },
  'mistral-large-2512': { input: 0.5, output: 1.5 },
  'mistral-medium-2505': { input: 0.4, output: 2 },
  'mistral-medium-2508': { input: 0.4, output: 2 },
  'mistral-medium-3-5-26-04': { input: 1.5, output: 7.5 },
  'mistral-small-2503': { input: 0.1, output: 0.3 },
  'mistral-small-2506': { input: 0.1, output: 0.3 },
  'codestral-2501': { input: 0.3, output: 0.9 },
  'codestral-2508': { input: 0.3, output: 0.9 },
  'mistral-embed': { input: 0.1, output: 0 },

  // Cohere
  'command-r-08-2024': { input: 0.15, output: 0.6 },
  'command-r7b-12-2024': { input: 0.0375, output: 0.15 },
  'command-r-plus-08-2024': { input: 2.5, output: 10 },
  'command-a-03-2025': { input: 2.5, output: 10 },
  'embed-v4.0': { input: 0.12, output: 0 },
  'embed-english-v3.0': { input: 0.1, output: 0 },
} satisfies Record<string, TableEntry>);

/**
 * Other names of a table entry that the suffix rules in prices.ts cannot derive. Only aliases that
 * providers pin to one model version: a moving alias (`mistral-large-latest`) is left out on purpose.
 */
export const PRICE_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'claude-sonnet-4-0': 'claude-sonnet-4',
  'claude-opus-4-0': 'claude-opus-4',
  'mistral-medium-3-5': 'mistral-medium-3-5-26-04',
  'mistral-medium-3.5': 'mistral-medium-3-5-26-04',
});
