import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Usage } from '../canonical/usage.js';
import { PRICE_ALIASES, PRICE_TABLE } from './price-table.js';
import {
  costUsd,
  highestInputPerMtok,
  lookupPrice,
  priceFromConfig,
  worstCaseCostUsd,
  type Price,
} from './prices.js';

const input = (model: string): number | undefined => lookupPrice(model)?.inputPerMtok;

/** Cost comparisons in USD: sums of products of decimals are not exact in binary floating point. */
const close = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} is not ${expected}`);

test('an exact id finds its entry, with every rate the table gives', () => {
  assert.deepEqual(lookupPrice('gpt-4o'), { inputPerMtok: 2.5, outputPerMtok: 10, cachedInputPerMtok: 1.25 });
  assert.deepEqual(lookupPrice('claude-sonnet-4-5'), {
    inputPerMtok: 3,
    outputPerMtok: 15,
    cachedInputPerMtok: 0.3,
    cacheWritePerMtok: 3.75,
  });
  assert.deepEqual(lookupPrice('text-embedding-3-small'), { inputPerMtok: 0.02, outputPerMtok: 0 });
});

test('the match ignores case and surrounding space', () => {
  assert.equal(input('GPT-4o-Mini'), 0.15);
  assert.equal(input('  Claude-Opus-4-1  '), 15);
  assert.equal(input('US.ANTHROPIC.CLAUDE-3-7-SONNET-20250219-V1:0'), 3);
});

test('dated snapshots resolve to their model', () => {
  assert.equal(input('gpt-4o-2024-08-06'), 2.5);
  assert.equal(input('gpt-4o-mini-2024-07-18'), 0.15);
  assert.equal(input('o3-mini-2025-01-31'), 1.1);
  assert.equal(input('gpt-5-nano-2025-08-07'), 0.05);
  assert.equal(input('claude-sonnet-4-5-20250929'), 3);
  assert.equal(input('claude-3-5-haiku-20241022'), 0.8);
  assert.equal(input('claude-opus-4-1-20250805'), 15);
  assert.equal(input('claude-3-7-sonnet-latest'), 3);
  assert.equal(input('claude-sonnet-4-0'), 3);
});

test('a snapshot priced apart from its model keeps its own price', () => {
  assert.deepEqual(lookupPrice('gpt-4o-2024-05-13'), { inputPerMtok: 5, outputPerMtok: 15 });
});

test('Bedrock ids resolve with their version suffix, region prefixes and ARNs', () => {
  assert.equal(input('anthropic.claude-3-5-haiku-20241022-v1:0'), 0.8);
  assert.equal(input('us.anthropic.claude-3-5-haiku-20241022-v1:0'), 0.8);
  assert.equal(input('eu.anthropic.claude-sonnet-4-20250514-v1:0'), 3);
  assert.equal(input('apac.anthropic.claude-3-7-sonnet-20250219-v1:0'), 3);
  assert.equal(input('global.anthropic.claude-sonnet-4-20250514-v1:0'), 3);
  assert.equal(input('us.amazon.nova-pro-v1:0'), 0.8);
  assert.equal(input('arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0'), 0.035);
  assert.equal(
    input(
      'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-opus-4-20250514-v1:0',
    ),
    15,
  );
});

test('Bedrock Claude 4.5 costs the global rate under global. and 10% more regionally', () => {
  assert.equal(input('global.anthropic.claude-sonnet-4-5-20250929-v1:0'), 3);
  assert.equal(input('us.anthropic.claude-sonnet-4-5-20250929-v1:0'), 3.3);
  assert.equal(input('anthropic.claude-sonnet-4-5-20250929-v1:0'), 3.3);
  assert.equal(input('global.anthropic.claude-haiku-4-5-20251001-v1:0'), 1);
  assert.equal(input('eu.anthropic.claude-haiku-4-5-20251001-v1:0'), 1.1);
  assert.equal(lookupPrice('jp.anthropic.claude-opus-4-5-20251101-v1:0')?.outputPerMtok, 27.5);
});

test('Gemini ids resolve with the models/ prefix and -001 snapshots', () => {
  assert.equal(input('models/gemini-2.5-flash'), 0.3);
  assert.equal(input('gemini-2.0-flash-001'), 0.1);
  assert.equal(input('models/gemini-2.0-flash-lite-001'), 0.075);
  assert.equal(input('publishers/google/models/gemini-2.5-pro'), 1.25);
  assert.equal(input('models/gemini-embedding-001'), 0.15);
});

test('gateway and Vertex decorations are removed', () => {
  assert.equal(input('openai/gpt-4.1-mini'), 0.4);
  assert.equal(input('azure/gpt-4o'), 2.5);
  assert.equal(input('anthropic/claude-haiku-4-5-20251001'), 1);
  assert.equal(input('claude-sonnet-4-5@20250929'), 3);
});

test('a longer model name never resolves to its shorter namesake', () => {
  assert.equal(input('gpt-4o-mini'), 0.15);
  assert.equal(input('o3-mini'), 1.1);
  assert.equal(input('gpt-4.1-nano'), 0.1);
  assert.equal(input('gpt-5-mini'), 0.25);
  assert.equal(input('claude-sonnet-4-5'), 3);
  // Variants the table does not list are unpriced, not priced as their base model.
  for (const model of [
    'o3-pro',
    'o3-mini-high',
    'gpt-4o-audio-preview',
    'gpt-4o-mini-search-preview',
    'gpt-4o-realtime-preview-2024-12-17',
    'chatgpt-4o-latest',
    'gpt-5-pro',
    'gemini-2.5-flash-preview-09-2025',
    'claude-opus-4-1-extended',
  ]) {
    assert.equal(lookupPrice(model), undefined, model);
  }
});

test('unknown models and moving aliases are unpriced', () => {
  for (const model of [
    '',
    'my-azure-deployment',
    'llama-3.3-70b-versatile',
    'mistral-large-latest',
    'codestral-latest',
    'command-r',
    'deepseek-chat',
    'us.',
    'models/',
  ]) {
    assert.equal(lookupPrice(model), undefined, model);
  }
  // Versioned Mistral and Cohere ids are priced.
  assert.equal(input('mistral-large-2512'), 0.5);
  assert.equal(input('command-r-08-2024'), 0.15);
});

test('every table entry and alias is lowercase, finite and non-negative, and finds itself', () => {
  for (const [id, entry] of Object.entries(PRICE_TABLE)) {
    assert.equal(id, id.toLowerCase(), id);
    for (const rate of [entry.input, entry.output, entry.cachedInput ?? 0, entry.cacheWrite ?? 0]) {
      assert.ok(Number.isFinite(rate) && rate >= 0, `${id}: ${rate}`);
    }
    assert.ok((entry.cachedInput ?? 0) <= entry.input, `${id}: a cache read dearer than input`);
    assert.equal(lookupPrice(id)?.inputPerMtok, entry.input, id);
  }
  for (const alias of Object.keys(PRICE_ALIASES)) assert.notEqual(lookupPrice(alias), undefined, alias);
});

test('the config price converts field by field', () => {
  assert.deepEqual(priceFromConfig({ input_per_mtok: 1, output_per_mtok: 2 }), {
    inputPerMtok: 1,
    outputPerMtok: 2,
  });
  assert.deepEqual(priceFromConfig({ input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: 0.5 }), {
    inputPerMtok: 1,
    outputPerMtok: 2,
    cachedInputPerMtok: 0.5,
  });
  assert.deepEqual(
    priceFromConfig({ input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: undefined }),
    {
      inputPerMtok: 1,
      outputPerMtok: 2,
    },
  );
});

const sonnet: Price = {
  inputPerMtok: 3,
  outputPerMtok: 15,
  cachedInputPerMtok: 0.3,
  cacheWritePerMtok: 3.75,
};

test('cost: uncached input, cache reads, cache writes and output each at their rate', () => {
  close(costUsd(sonnet, { inputTokens: 1_000_000, outputTokens: 0 }), 3);
  close(costUsd(sonnet, { inputTokens: 0, outputTokens: 1_000_000 }), 15);
  // 2,000 input of which 1,500 read and 300 written: 200 uncached.
  close(
    costUsd(sonnet, {
      inputTokens: 2000,
      cachedInputTokens: 1500,
      cacheWriteInputTokens: 300,
      outputTokens: 100,
    }),
    (200 * 3 + 1500 * 0.3 + 300 * 3.75 + 100 * 15) / 1e6,
  );
  // OpenAI: cached is the discounted subset of prompt_tokens.
  const gpt4o = lookupPrice('gpt-4o') as Price;
  close(
    costUsd(gpt4o, { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 50 }),
    (600 * 2.5 + 400 * 1.25 + 50 * 10) / 1e6,
  );
});

test('cost: without cache rates, cached and written tokens cost the input price', () => {
  const flat: Price = { inputPerMtok: 2, outputPerMtok: 8 };
  const usage: Usage = {
    inputTokens: 1000,
    cachedInputTokens: 600,
    cacheWriteInputTokens: 100,
    outputTokens: 10,
  };
  close(costUsd(flat, usage), (1000 * 2 + 10 * 8) / 1e6);
});

test('cost: zero usage costs nothing', () => {
  assert.equal(costUsd(sonnet, { inputTokens: 0, outputTokens: 0 }), 0);
  assert.equal(
    costUsd(sonnet, { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0 }),
    0,
  );
});

test('cost: hostile usage never counts negative tokens nor yields NaN', () => {
  // Cache counts above the input: billed as reported, no negative uncached remainder.
  close(costUsd(sonnet, { inputTokens: 10, cachedInputTokens: 1800, outputTokens: 0 }), (1800 * 0.3) / 1e6);
  close(
    costUsd(sonnet, { inputTokens: 100, cachedInputTokens: 80, cacheWriteInputTokens: 80, outputTokens: 0 }),
    (80 * 0.3 + 80 * 3.75) / 1e6,
  );
  assert.ok(costUsd(sonnet, { inputTokens: 10, cachedInputTokens: 1800, outputTokens: 0 }) >= 0);
  // Negative, NaN and infinite counts are 0.
  assert.equal(costUsd(sonnet, { inputTokens: -5, outputTokens: -1, cachedInputTokens: -3 }), 0);
  assert.equal(costUsd(sonnet, { inputTokens: Number.NaN, outputTokens: Number.POSITIVE_INFINITY }), 0);
  close(
    costUsd(sonnet, { inputTokens: 1000, cachedInputTokens: Number.NaN, outputTokens: 0 }),
    (1000 * 3) / 1e6,
  );
});

test('cost is not rounded', () => {
  const cost = costUsd(lookupPrice('gpt-5-nano') as Price, { inputTokens: 1, outputTokens: 1 });
  close(cost, 0.45e-6);
  assert.notEqual(cost, 0);
});

test('worst case: all input at the highest input rate plus the maximum output', () => {
  close(worstCaseCostUsd({ inputPerMtok: 2, outputPerMtok: 8 }, 1000, 500), (1000 * 2 + 500 * 8) / 1e6);
  // A prompt may be written to Anthropic's cache, which costs more than plain input.
  assert.equal(highestInputPerMtok(sonnet), 3.75);
  close(worstCaseCostUsd(sonnet, 1000, 500), (1000 * 3.75 + 500 * 15) / 1e6);
  assert.equal(worstCaseCostUsd(sonnet, 0, 0), 0);
  assert.equal(worstCaseCostUsd(sonnet, -1, Number.NaN), 0);
});

test('worst case is never below the actual cost of the same tokens, for every table price', () => {
  const shapes = (inputTokens: number, outputTokens: number): Usage[] => [
    { inputTokens, outputTokens },
    { inputTokens, outputTokens, cachedInputTokens: inputTokens },
    { inputTokens, outputTokens, cacheWriteInputTokens: inputTokens },
    {
      inputTokens,
      outputTokens,
      cachedInputTokens: Math.floor(inputTokens / 3),
      cacheWriteInputTokens: Math.floor(inputTokens / 3),
    },
    { inputTokens, outputTokens: 0 },
  ];
  const prices = [
    ...Object.keys(PRICE_TABLE).map((id) => lookupPrice(id) as Price),
    priceFromConfig({ input_per_mtok: 1, output_per_mtok: 4 }),
  ];
  for (const price of prices) {
    for (const [i, o] of [
      [0, 0],
      [1, 1],
      [1234, 4096],
      [200_000, 64_000],
    ] as const) {
      const worst = worstCaseCostUsd(price, i, o);
      for (const usage of shapes(i, o)) {
        assert.ok(
          costUsd(price, usage) <= worst + 1e-15,
          `${JSON.stringify(price)} ${JSON.stringify(usage)}`,
        );
      }
    }
  }
});
