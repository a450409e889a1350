/**
 * Upstream answers → "avoid this target until T". A 429 is a quota signal for one key, not a sick model
 * (docs/routing.md), so the answer is a cooldown for that target, read from what the upstream says:
 *
 * - `retry-after-ms` (OpenAI, Azure) and `retry-after` (RFC 9110 §10.2.3: seconds or an HTTP date);
 * - OpenAI `x-ratelimit-remaining-{requests,tokens}` / `x-ratelimit-reset-{requests,tokens}`, resets as Go
 *   durations ("1s", "6m0s", "20ms") (https://platform.openai.com/docs/guides/rate-limits);
 * - Anthropic `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{remaining,reset}`, resets
 *   as RFC 3339 times (https://docs.claude.com/en/api/rate-limits).
 *
 * A 2xx whose remaining quota is 0 already tells when the next request would be refused, so routing can
 * go around the target before the 429. That check runs on every successful answer: it reads at most six
 * headers and compares each with "0"; parsing happens only when one is 0.
 *
 * Hand-written: no maintained library reads these provider-specific headers.
 */

type Headers = Record<string, string | string[] | undefined>;

/** A header that promises a reset further out than this is distrusted (a bug, a hostile proxy): clamped. */
export const maxCooldownMs = 24 * 60 * 60 * 1000;

/** OpenAI's pairs: [remaining, reset]. */
const openAILimits = [
  ['x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  ['x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
] as const;

/** Anthropic's pairs: [remaining, reset]. */
const anthropicLimits = [
  ['anthropic-ratelimit-requests-remaining', 'anthropic-ratelimit-requests-reset'],
  ['anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-tokens-reset'],
  ['anthropic-ratelimit-input-tokens-remaining', 'anthropic-ratelimit-input-tokens-reset'],
  ['anthropic-ratelimit-output-tokens-remaining', 'anthropic-ratelimit-output-tokens-reset'],
] as const;

type ResetParser = (value: string, nowMs: number) => number | undefined;

const openAIReset: ResetParser = (value, nowMs) => {
  const ms = parseDuration(value);
  return ms === undefined ? undefined : nowMs + ms;
};

const anthropicReset: ResetParser = (value) => {
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
};

/**
 * Epoch ms until which the target should be avoided, or undefined when the answer says nothing of the
 * kind. Header names are lower case, as node:http and undici deliver them.
 *
 * - 429: Retry-After first (the upstream's explicit answer), then the provider's reset of the exhausted
 *   limit (the largest when none reads 0: which limit refused is not said, and the largest is the safe
 *   wait), then `nowMs + defaultMs`.
 * - 503/529: Retry-After only.
 * - 2xx: the reset of a limit whose remaining is 0, else undefined.
 * - Anything else: undefined (a 5xx is the breaker's business, not a quota).
 *
 * A time at or before `nowMs` counts as no answer (Azure sends `x-ratelimit-reset-tokens: 0` with unknown
 * limits; `retry-after: 0` means "no wait to honour"), and one beyond `maxCooldownMs` is clamped.
 */
export function cooldownUntil(
  status: number,
  headers: Headers,
  nowMs: number,
  defaultMs: number,
): number | undefined {
  if (status >= 200 && status < 300) {
    return (
      exhaustedReset(headers, openAILimits, openAIReset, nowMs, false) ??
      exhaustedReset(headers, anthropicLimits, anthropicReset, nowMs, false)
    );
  }
  const refused = status === 429;
  if (!refused && status !== 503 && status !== 529) return undefined;
  const retryAfter = retryAfterUntil(headers, nowMs);
  // A 503/529 is an overload, not a quota: only an explicit Retry-After makes it a cooldown; without one
  // the breaker and the backoff handle it.
  if (retryAfter !== undefined || !refused) return retryAfter;
  return (
    exhaustedReset(headers, openAILimits, openAIReset, nowMs, true) ??
    exhaustedReset(headers, anthropicLimits, anthropicReset, nowMs, true) ??
    clamp(nowMs + defaultMs, nowMs)
  );
}

function retryAfterUntil(headers: Headers, nowMs: number): number | undefined {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined) {
    const value = parseNumber(ms);
    if (value !== undefined) {
      const until = clamp(nowMs + value, nowMs);
      if (until !== undefined) return until;
    }
  }
  const text = first(headers['retry-after']);
  if (text === undefined) return undefined;
  const seconds = parseNumber(text);
  if (seconds !== undefined) return clamp(nowMs + seconds * 1000, nowMs);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : clamp(date, nowMs);
}

/**
 * The reset of the limits whose remaining is "0" (the latest, when several are); with `anyIfUnknown`
 * and none at 0, the latest reset present.
 */
function exhaustedReset(
  headers: Headers,
  limits: readonly (readonly [remaining: string, reset: string])[],
  parseReset: ResetParser,
  nowMs: number,
  anyIfUnknown: boolean,
): number | undefined {
  let exhausted: number | undefined;
  let anyExhausted = false;
  for (const [remainingName, resetName] of limits) {
    if (!isZero(first(headers[remainingName]))) continue;
    anyExhausted = true;
    exhausted = later(exhausted, reset(headers, resetName, parseReset, nowMs));
  }
  if (anyExhausted || !anyIfUnknown) return exhausted;
  let latest: number | undefined;
  for (const [, resetName] of limits) latest = later(latest, reset(headers, resetName, parseReset, nowMs));
  return latest;
}

function reset(headers: Headers, name: string, parse: ResetParser, nowMs: number): number | undefined {
  const value = first(headers[name]);
  if (value === undefined) return undefined;
  const at = parse(value, nowMs);
  return at === undefined ? undefined : clamp(at, nowMs);
}

const later = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** Cheap on purpose: this is the per-2xx check. */
const isZero = (value: string | undefined): boolean => value === '0';

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** undefined for a time already over; at most `maxCooldownMs` ahead; whole ms. */
function clamp(untilMs: number, nowMs: number): number | undefined {
  if (!(untilMs > nowMs)) return undefined;
  return Math.ceil(Math.min(untilMs, nowMs + maxCooldownMs));
}

/** A plain non-negative decimal ("20", "1.5"); Number() alone would accept "", " " and "0x10". */
function parseNumber(text: string): number | undefined {
  return /^\s*\d+(?:\.\d+)?\s*$/.test(text) ? Number(text) : undefined;
}

const durationUnits: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 1e-3,
  µs: 1e-3,
  ns: 1e-6,
};
const durationPart = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;

/**
 * A Go `time.Duration` string as OpenAI writes resets ("1s", "6m0s", "20ms", "1h2m3.5s") → ms. A bare
 * number is read as seconds, as Azure OpenAI sends it. undefined for anything else.
 */
export function parseDuration(text: string): number | undefined {
  const plain = parseNumber(text);
  if (plain !== undefined) return plain * 1000;
  const value = text.trim();
  if (value === '') return undefined;
  let total = 0;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < value.length) {
    const match = durationPart.exec(value);
    if (match === null) return undefined;
    total += Number(match[1]) * (durationUnits[match[2] as string] as number);
  }
  return total;
}
