/**
 * Prices and cost: the lookup of an upstream model id in the maintained table (price-table.ts), the
 * config's `price` in the same shape, and the cost of a request from its usage.
 */
import type { Usage } from '../canonical/usage.js';
import { PRICE_ALIASES, PRICE_TABLE, type TableEntry } from './price-table.js';

/** USD per million tokens. A missing cache rate means those tokens cost the input price. */
export interface Price {
  inputPerMtok: number;
  outputPerMtok: number;
  cachedInputPerMtok?: number;
  cacheWritePerMtok?: number;
}

function fromEntry(entry: TableEntry): Price {
  const price: Price = { inputPerMtok: entry.input, outputPerMtok: entry.output };
  if (entry.cachedInput !== undefined) price.cachedInputPerMtok = entry.cachedInput;
  if (entry.cacheWrite !== undefined) price.cacheWritePerMtok = entry.cacheWrite;
  return Object.freeze(price);
}

/** Built once: lowercase id → frozen Price, aliases included (an alias to a missing id is a table bug). */
const index: ReadonlyMap<string, Price> = (() => {
  const map = new Map<string, Price>();
  for (const [id, entry] of Object.entries(PRICE_TABLE)) map.set(id.toLowerCase(), fromEntry(entry));
  for (const [alias, id] of Object.entries(PRICE_ALIASES)) {
    const price = map.get(id);
    if (price === undefined) throw new Error(`price alias ${alias} names ${id}, which is not in the table`);
    map.set(alias.toLowerCase(), price);
  }
  return map;
})();

/**
 * Each rule rewrites the id once; the lookup tries the id after every rule that changed it, in order,
 * and the first hit wins. Every rule only removes a routing or version decoration, never part of the
 * model's name, and there is no prefix matching: `gpt-4o-mini` cannot become `gpt-4o`, nor `o3-mini`
 * or `o3-pro` become `o3`. An id the rules cannot reduce to a table key is unpriced (undefined), which
 * is safer for a ledger than a near miss.
 */
const rules: ReadonlyArray<(id: string) => string> = [
  // Path-like prefixes: a gateway's `openai/` or `azure/`, Gemini's `models/`, Vertex's
  // `publishers/google/models/`, and Bedrock ARNs (`…:foundation-model/<id>`, `…:inference-profile/<id>`).
  (id) => id.slice(id.lastIndexOf('/') + 1),
  // Vertex AI's version after `@` (`claude-sonnet-4-5@20250929`).
  (id) => id.replace(/@[^@]*$/, ''),
  // Bedrock geographic cross-Region profiles: priced as the in-Region id. `global.` is tried as is
  // first (it is cheaper for the Claude 4.5 models) and only then stripped.
  (id) => id.replace(/^(?:us|us-gov|eu|apac|jp|au|ca)\./, ''),
  (id) => id.replace(/^global\./, ''),
  // One version suffix: `-latest` of a pinned alias, OpenAI's `-2024-08-06`, Anthropic's `-20250929`,
  // Gemini's `-001`. Mistral's `-2512` and Cohere's `-08-2024` are not stripped: their bases are aliases
  // that moved to other prices.
  (id) => id.replace(/-(?:latest|\d{4}-\d{2}-\d{2}|\d{8}|\d{3})$/, ''),
];

/**
 * The table's price for an upstream model id (Azure: the deployment name, Bedrock: the model or
 * inference-profile id), or undefined. Keys are stored lowercase, so the exact and the case-insensitive
 * match are one step; then the rules above.
 */
export function lookupPrice(model: string): Price | undefined {
  let id = model.trim().toLowerCase();
  let price = index.get(id);
  for (const rule of rules) {
    if (price !== undefined) return price;
    const next = rule(id);
    if (next === id) continue;
    id = next;
    price = index.get(id);
  }
  return price;
}

/** The config's `price` (models[].price, targets[].price) as a Price. It has no cache-write rate. */
export function priceFromConfig(p: {
  input_per_mtok: number;
  output_per_mtok: number;
  cached_input_per_mtok?: number | undefined;
  cache_write_per_mtok?: number | undefined;
}): Price {
  const price: Price = { inputPerMtok: p.input_per_mtok, outputPerMtok: p.output_per_mtok };
  if (p.cached_input_per_mtok !== undefined) price.cachedInputPerMtok = p.cached_input_per_mtok;
  if (p.cache_write_per_mtok !== undefined) price.cacheWritePerMtok = p.cache_write_per_mtok;
  return price;
}

/** A token count as the ledger may use it: NaN, infinities and negatives from a broken report are 0. */
const tokens = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

/**
 * What a request cost, in USD, from the provider's usage. `inputTokens` counts every input token
 * (OpenAI's accounting), of which `cachedInputTokens` were read from the cache and
 * `cacheWriteInputTokens` written to it; the rest is billed at the input price.
 *
 * Usage whose cache counts exceed the input (a provider or translator that did not add them in) bills
 * the cache counts as reported and no uncached tokens: never a negative count, and never fewer tokens
 * than the provider said it served, since a budget should rather overcharge a malformed report.
 *
 * Not rounded: a ledger sums millions of these, and rounding each to cents (or micro-dollars) would add
 * up to an error that grows with the request count; round once, when a sum is shown.
 */
export function costUsd(price: Price, usage: Usage): number {
  const input = tokens(usage.inputTokens);
  const cached = tokens(usage.cachedInputTokens);
  const written = tokens(usage.cacheWriteInputTokens);
  const uncached = Math.max(0, input - cached - written);
  return (
    (uncached * price.inputPerMtok +
      cached * (price.cachedInputPerMtok ?? price.inputPerMtok) +
      written * (price.cacheWritePerMtok ?? price.inputPerMtok) +
      tokens(usage.outputTokens) * price.outputPerMtok) /
    1e6
  );
}

/**
 * The highest rate any one input token of this price can be billed at: the input price, or the
 * cache-write price where that is higher (Anthropic bills writes at 1.25x input).
 */
export function highestInputPerMtok(price: Price): number {
  return Math.max(price.inputPerMtok, price.cachedInputPerMtok ?? 0, price.cacheWritePerMtok ?? 0);
}

/**
 * The reservation before a call: every input token at the highest input rate (the cache may miss, or
 * the prompt may be written to it) plus the maximum output. So for consistent usage of at most these
 * tokens, costUsd never exceeds it (the guarantee prices.test.ts checks).
 */
export function worstCaseCostUsd(price: Price, inputTokens: number, maxOutputTokens: number): number {
  return (
    (tokens(inputTokens) * highestInputPerMtok(price) + tokens(maxOutputTokens) * price.outputPerMtok) / 1e6
  );
}
