import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cooldownUntil, maxCooldownMs, parseDuration } from './rate-limit-headers.js';

const now = Date.parse('2025-05-26T05:00:04Z');
const defaultMs = 5_000;

/** The headers of OpenAI's rate-limit guide, with the quota in the state the test names. */
const openAI = (overrides: Record<string, string> = {}): Record<string, string> => ({
  'x-ratelimit-limit-requests': '60',
  'x-ratelimit-limit-tokens': '150000',
  'x-ratelimit-remaining-requests': '59',
  'x-ratelimit-remaining-tokens': '149984',
  'x-ratelimit-reset-requests': '1s',
  'x-ratelimit-reset-tokens': '6m0s',
  ...overrides,
});

/** Anthropic's rate-limit headers: RFC 3339 resets per limit. */
const anthropic = (overrides: Record<string, string> = {}): Record<string, string> => ({
  'anthropic-ratelimit-requests-limit': '50',
  'anthropic-ratelimit-requests-remaining': '49',
  'anthropic-ratelimit-requests-reset': '2025-05-26T05:00:05Z',
  'anthropic-ratelimit-tokens-limit': '40000',
  'anthropic-ratelimit-tokens-remaining': '39000',
  'anthropic-ratelimit-tokens-reset': '2025-05-26T05:00:10Z',
  'anthropic-ratelimit-input-tokens-limit': '30000',
  'anthropic-ratelimit-input-tokens-remaining': '29000',
  'anthropic-ratelimit-input-tokens-reset': '2025-05-26T05:00:07Z',
  'anthropic-ratelimit-output-tokens-limit': '8000',
  'anthropic-ratelimit-output-tokens-remaining': '8000',
  'anthropic-ratelimit-output-tokens-reset': '2025-05-26T05:00:04.500Z',
  ...overrides,
});

test('Go durations as OpenAI writes resets', () => {
  assert.equal(parseDuration('1s'), 1_000);
  assert.equal(parseDuration('6m0s'), 360_000);
  assert.equal(parseDuration('20ms'), 20);
  assert.equal(parseDuration('12ms'), 12);
  assert.equal(parseDuration('1h2m3.5s'), 3_723_500);
  assert.equal(parseDuration('17.28s'), 17_280);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500us'), 0.5);
  assert.equal(parseDuration('7'), 7_000, 'Azure sends bare seconds');
  for (const bad of ['', ' ', 's', '1x', '1s2', '-1s', 'soon', '1 s']) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

test('429: retry-after-ms wins, then retry-after seconds, then an HTTP date', () => {
  // Azure OpenAI sends both; the ms one is the precise one.
  assert.equal(
    cooldownUntil(429, { 'retry-after-ms': '1500', 'retry-after': '2' }, now, defaultMs),
    now + 1_500,
  );
  assert.equal(cooldownUntil(429, { 'retry-after': '20' }, now, defaultMs), now + 20_000);
  assert.equal(cooldownUntil(429, { 'retry-after': '0.5' }, now, defaultMs), now + 500);
  assert.equal(
    cooldownUntil(429, { 'retry-after': 'Mon, 26 May 2025 05:01:04 GMT' }, now, defaultMs),
    now + 60_000,
  );
  assert.equal(
    cooldownUntil(429, { 'retry-after': ['3', '9'] }, now, defaultMs),
    now + 3_000,
    'first of repeats',
  );
});

test('429: Retry-After beats the rate-limit headers (Anthropic sends both)', () => {
  const headers = { 'retry-after': '9', ...anthropic({ 'anthropic-ratelimit-tokens-remaining': '0' }) };
  assert.equal(cooldownUntil(429, headers, now, defaultMs), now + 9_000);
});

test('429 from OpenAI: the reset of the exhausted limit', () => {
  const tokens = openAI({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '20ms' });
  assert.equal(cooldownUntil(429, tokens, now, defaultMs), now + 20);
  const requests = openAI({ 'x-ratelimit-remaining-requests': '0' });
  assert.equal(
    cooldownUntil(429, requests, now, defaultMs),
    now + 1_000,
    'requests: 1s, not the 6m0s tokens',
  );
  const both = openAI({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-remaining-tokens': '0' });
  assert.equal(cooldownUntil(429, both, now, defaultMs), now + 360_000, 'both: the later one');
});

test('429 with resets but no limit at 0: the larger reset, since which limit refused is not said', () => {
  assert.equal(cooldownUntil(429, openAI(), now, defaultMs), now + 360_000);
  const resetsOnly = { 'x-ratelimit-reset-requests': '12ms', 'x-ratelimit-reset-tokens': '9ms' };
  assert.equal(cooldownUntil(429, resetsOnly, now, defaultMs), now + 12);
});

test('429 from Anthropic without Retry-After: the RFC 3339 reset of the exhausted limit', () => {
  const inputTokens = anthropic({ 'anthropic-ratelimit-input-tokens-remaining': '0' });
  assert.equal(cooldownUntil(429, inputTokens, now, defaultMs), Date.parse('2025-05-26T05:00:07Z'));
  const output = anthropic({ 'anthropic-ratelimit-output-tokens-remaining': '0' });
  assert.equal(cooldownUntil(429, output, now, defaultMs), now + 500, 'fractional seconds kept');
  assert.equal(
    cooldownUntil(429, anthropic(), now, defaultMs),
    Date.parse('2025-05-26T05:00:10Z'),
    'none at 0',
  );
});

test('429 that says nothing usable: now + default', () => {
  assert.equal(cooldownUntil(429, {}, now, defaultMs), now + defaultMs);
  assert.equal(cooldownUntil(429, { 'retry-after': 'soon' }, now, defaultMs), now + defaultMs);
  assert.equal(cooldownUntil(429, { 'retry-after': '' }, now, defaultMs), now + defaultMs);
  assert.equal(
    cooldownUntil(429, { 'retry-after': '0' }, now, defaultMs),
    now + defaultMs,
    'no wait to honour',
  );
  // Azure with unknown limits: -1 remaining, a 0 reset.
  const azure = {
    'x-ratelimit-limit-tokens': '-1',
    'x-ratelimit-remaining-tokens': '-1',
    'x-ratelimit-reset-tokens': '0',
  };
  assert.equal(cooldownUntil(429, azure, now, defaultMs), now + defaultMs);
  assert.equal(
    cooldownUntil(429, { 'retry-after': 'Mon, 26 May 2025 04:00:00 GMT' }, now, defaultMs),
    now + defaultMs,
    'a date in the past',
  );
});

test('503 and 529: a cooldown only with Retry-After', () => {
  assert.equal(cooldownUntil(503, { 'retry-after': '2' }, now, defaultMs), now + 2_000);
  assert.equal(cooldownUntil(529, { 'retry-after-ms': '250' }, now, defaultMs), now + 250);
  assert.equal(cooldownUntil(503, {}, now, defaultMs), undefined);
  assert.equal(
    cooldownUntil(529, anthropic({ 'anthropic-ratelimit-tokens-remaining': '0' }), now, defaultMs),
    undefined,
  );
  assert.equal(cooldownUntil(503, { 'retry-after': 'soon' }, now, defaultMs), undefined);
});

test('other failures are not quota signals', () => {
  for (const status of [400, 401, 404, 500, 502, 504]) {
    assert.equal(
      cooldownUntil(
        status,
        { 'retry-after': '5', ...openAI({ 'x-ratelimit-remaining-requests': '0' }) },
        now,
        defaultMs,
      ),
      undefined,
      String(status),
    );
  }
});

test('2xx: nothing unless a remaining quota reads 0', () => {
  assert.equal(cooldownUntil(200, openAI(), now, defaultMs), undefined);
  assert.equal(cooldownUntil(200, anthropic(), now, defaultMs), undefined);
  assert.equal(cooldownUntil(200, {}, now, defaultMs), undefined);
  assert.equal(
    cooldownUntil(200, { 'retry-after': '5' }, now, defaultMs),
    undefined,
    'Retry-After on a 2xx means nothing',
  );
  assert.equal(
    cooldownUntil(200, openAI({ 'x-ratelimit-remaining-requests': '1' }), now, defaultMs),
    undefined,
  );
});

test('2xx with a limit at 0: its reset, so routing goes around before the 429', () => {
  const lastRequest = openAI({
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': '17.28s',
  });
  assert.equal(cooldownUntil(200, lastRequest, now, defaultMs), now + 17_280);
  const anthropicTokens = anthropic({ 'anthropic-ratelimit-tokens-remaining': '0' });
  assert.equal(cooldownUntil(201, anthropicTokens, now, defaultMs), Date.parse('2025-05-26T05:00:10Z'));
  // Exhausted but no usable reset: nothing to act on yet; the next answer will say.
  assert.equal(cooldownUntil(200, { 'x-ratelimit-remaining-tokens': '0' }, now, defaultMs), undefined);
  assert.equal(
    cooldownUntil(
      200,
      { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': 'later' },
      now,
      defaultMs,
    ),
    undefined,
  );
});

test('a reset absurdly far away is clamped', () => {
  assert.equal(
    cooldownUntil(429, { 'retry-after': String(365 * 24 * 3600) }, now, defaultMs),
    now + maxCooldownMs,
  );
  assert.equal(
    cooldownUntil(
      200,
      {
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2099-01-01T00:00:00Z',
      },
      now,
      defaultMs,
    ),
    now + maxCooldownMs,
  );
});
