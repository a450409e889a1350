// Options of `sluice simulate`: their defaults, their validation, and the command-line flags that set them.

export type SimulatorFormat = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'cohere' | 'all';

export interface SimulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  format: SimulatorFormat;
  /** Fixed delay before the response headers. */
  latencyMs: number;
  /** Uniform extra delay in 0..latencyJitterMs, on top of latencyMs. */
  latencyJitterMs: number;
  /** Headers to first token on streams; part of the total delay of non-stream responses. */
  ttftMs: number;
  /** Pacing between output tokens; 0 sends them as fast as the socket takes them. */
  tokensPerSecond: number;
  /** Completion length in tokens, capped per request by max_completion_tokens or max_tokens. */
  outputTokens: number;
  /** Probability of an injected 500. */
  errorRate: number;
  /** Probability of an injected 429. */
  rateLimitRate: number;
  /** Probability of an injected "overloaded" answer (503; Anthropic 529; Bedrock ServiceUnavailable). */
  overloadRate: number;
  /** The retry-after header of injected 429s and overloads, in seconds. */
  retryAfterSeconds: number;
  /**
   * Requests served at once; the others wait in line (first come, first served) before their latency
   * starts, as at a provider with finite capacity. 0 = no limit.
   */
  maxConcurrency: number;
  /** Probability that a stream is cut (socket destroyed, no [DONE]) after about half its tokens. */
  streamCutRate: number;
  seed: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey: string | undefined;
  /** What GET /v1/models lists; requests may name any model. */
  models: readonly string[];
  /** Keep the last request (method, url, headers, body) in stats.lastRequest. Programmatic only. */
  recordRequests: boolean;
}

export const defaultSimulatorOptions: Readonly<SimulatorOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 8090,
  format: 'openai',
  latencyMs: 0,
  latencyJitterMs: 0,
  ttftMs: 0,
  tokensPerSecond: 0,
  outputTokens: 16,
  errorRate: 0,
  rateLimitRate: 0,
  overloadRate: 0,
  retryAfterSeconds: 1,
  maxConcurrency: 0,
  streamCutRate: 0,
  seed: 1,
  apiKey: undefined,
  models: Object.freeze(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small', 'text-embedding-3-large']),
  recordRequests: false,
});

const FORMATS: readonly string[] = ['openai', 'anthropic', 'gemini', 'bedrock', 'cohere', 'all'];

type Key = keyof SimulatorOptions;

interface OptionSpec {
  key: Key;
  /** undefined for programmatic-only options. */
  flag: string | undefined;
  /** Describes a valid value, for error messages. */
  expected: string;
  valid(value: unknown): boolean;
  fromFlag(raw: string): unknown;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const nonNegative = (value: unknown): boolean => isNumber(value) && value >= 0;
const probability = (value: unknown): boolean => isNumber(value) && value >= 0 && value <= 1;
const integerIn =
  (min: number, max: number) =>
  (value: unknown): boolean =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
// Number('') is 0 and Number(' 5') is 5; a flag value must look like a number to be one.
const toNumber = (raw: string): unknown =>
  /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : raw;
const nonEmptyString = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

const SPECS: readonly OptionSpec[] = [
  {
    key: 'host',
    flag: 'host',
    expected: 'a host name or address',
    valid: nonEmptyString,
    fromFlag: (r) => r,
  },
  {
    key: 'port',
    flag: 'port',
    expected: 'an integer from 0 to 65535',
    valid: integerIn(0, 65535),
    fromFlag: toNumber,
  },
  {
    key: 'format',
    flag: 'format',
    expected: FORMATS.join(', '),
    valid: (v) => typeof v === 'string' && FORMATS.includes(v),
    fromFlag: (r) => r,
  },
  { key: 'latencyMs', flag: 'latency-ms', expected: 'a number >= 0', valid: nonNegative, fromFlag: toNumber },
  {
    key: 'latencyJitterMs',
    flag: 'latency-jitter-ms',
    expected: 'a number >= 0',
    valid: nonNegative,
    fromFlag: toNumber,
  },
  { key: 'ttftMs', flag: 'ttft-ms', expected: 'a number >= 0', valid: nonNegative, fromFlag: toNumber },
  {
    key: 'tokensPerSecond',
    flag: 'tokens-per-second',
    expected: 'a number >= 0 (0 = no pacing)',
    valid: nonNegative,
    fromFlag: toNumber,
  },
  {
    key: 'outputTokens',
    flag: 'output-tokens',
    expected: 'an integer from 1 to 1000000',
    valid: integerIn(1, 1_000_000),
    fromFlag: toNumber,
  },
  {
    key: 'errorRate',
    flag: 'error-rate',
    expected: 'a number from 0 to 1',
    valid: probability,
    fromFlag: toNumber,
  },
  {
    key: 'rateLimitRate',
    flag: 'rate-limit-rate',
    expected: 'a number from 0 to 1',
    valid: probability,
    fromFlag: toNumber,
  },
  {
    key: 'overloadRate',
    flag: 'overload-rate',
    expected: 'a number from 0 to 1',
    valid: probability,
    fromFlag: toNumber,
  },
  {
    key: 'retryAfterSeconds',
    flag: 'retry-after',
    expected: 'a whole number of seconds >= 0',
    valid: integerIn(0, 86_400),
    fromFlag: toNumber,
  },
  {
    key: 'maxConcurrency',
    flag: 'max-concurrency',
    expected: 'an integer from 0 to 1000000 (0 = no limit)',
    valid: integerIn(0, 1_000_000),
    fromFlag: toNumber,
  },
  {
    key: 'streamCutRate',
    flag: 'stream-cut-rate',
    expected: 'a number from 0 to 1',
    valid: probability,
    fromFlag: toNumber,
  },
  {
    key: 'seed',
    flag: 'seed',
    expected: 'an integer',
    valid: integerIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    fromFlag: toNumber,
  },
  {
    key: 'apiKey',
    flag: 'api-key',
    expected: 'a non-empty key',
    valid: (v) => v === undefined || nonEmptyString(v),
    fromFlag: (r) => r,
  },
  {
    key: 'models',
    flag: 'models',
    expected: 'a comma-separated list of model names',
    valid: (v) => Array.isArray(v) && v.length > 0 && v.every(nonEmptyString),
    fromFlag: (r) => r.split(',').map((m) => m.trim()),
  },
  {
    key: 'recordRequests',
    flag: undefined,
    expected: 'a boolean',
    valid: (v) => typeof v === 'boolean',
    fromFlag: (r) => r,
  },
];

const BY_FLAG = new Map(SPECS.filter((s) => s.flag !== undefined).map((s) => [s.flag as string, s]));
const BY_KEY = new Map(SPECS.map((s) => [s.key, s]));

/**
 * Checks programmatic options (startSimulator, setOptions) with the same rules as the flags.
 * Throws an Error naming the option.
 */
export function validateSimulatorOptions(partial: Partial<SimulatorOptions>): void {
  for (const [key, value] of Object.entries(partial)) {
    const spec = BY_KEY.get(key as Key);
    if (spec === undefined) throw new Error(`Unknown simulator option ${key}`);
    if (value === undefined && key !== 'apiKey') continue;
    if (!spec.valid(value)) {
      throw new Error(
        `Invalid simulator option ${key}: ${JSON.stringify(value)} (expected ${spec.expected})`,
      );
    }
  }
}

/**
 * Parses `sluice simulate` flags (`--flag value` or `--flag=value`) over the defaults.
 * Throws an Error naming the flag on an unknown flag, a missing value or a bad value.
 */
export function parseSimulatorFlags(argv: string[]): SimulatorOptions {
  const options: SimulatorOptions = { ...defaultSimulatorOptions };
  const set = options as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      throw new Error(
        `Unexpected argument ${JSON.stringify(arg)} for sluice simulate (flags look like --port 8090)`,
      );
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = BY_FLAG.get(name);
    if (spec === undefined) throw new Error(`Unknown flag --${name} for sluice simulate`);
    let raw: string;
    if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`Flag --${name} needs a value`);
      raw = next;
      i++;
    }
    const value = spec.fromFlag(raw);
    if (!spec.valid(value)) {
      throw new Error(`Invalid value for --${name}: ${JSON.stringify(raw)} (expected ${spec.expected})`);
    }
    set[spec.key] = value;
  }
  return options;
}

export const simulatorUsage = `Usage: sluice simulate [flags]

A fake LLM provider upstream (OpenAI, Azure, Anthropic, Gemini, Bedrock, Cohere wire formats) for
tests and load tests.

  --host H                 listen address (default 127.0.0.1)
  --port N                 listen port, 0 = any free port (default 8090)
  --format F               openai | anthropic | gemini | bedrock | cohere | all (default openai)
  --latency-ms N           delay before response headers (default 0)
  --latency-jitter-ms N    uniform extra delay 0..N (default 0)
  --ttft-ms N              headers to first token on streams (default 0)
  --tokens-per-second N    pacing between output tokens, 0 = none (default 0)
  --output-tokens N        completion length, capped by max_tokens (default 16)
  --error-rate P           probability of a 500 (default 0)
  --rate-limit-rate P      probability of a 429 (default 0)
  --overload-rate P        probability of an "overloaded" answer: 503, Anthropic 529 (default 0)
  --retry-after S          retry-after of injected 429s and overloads, seconds (default 1)
  --max-concurrency N      requests served at once; more wait in line, 0 = no limit (default 0)
  --stream-cut-rate P      probability a stream is cut after about half its tokens (default 0)
  --seed N                 seed of content and fault draws (default 1)
  --api-key K              require Authorization: Bearer K
  --models a,b,c           what GET /v1/models lists
`;
