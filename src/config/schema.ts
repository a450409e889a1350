/**
 * The config schema: the single source for validation, defaults, the typed Config, and the published JSON
 * Schema (schema/sluice.config.schema.json, written by `npm run schema`). Cross-references (a target's
 * provider, a key's models) are checked in cross-references.ts.
 */
import { z } from 'zod';
import { hashTagPattern } from '../state/hash-tag.js';

/**
 * The batch limit's tolerance (admission.adaptive_concurrency.batch_tolerance): in the bench's burst, 1.02
 * held the interactive p99 at 1.09–1.17× its unloaded value with batch answered at 91–96% of the
 * upstream's capacity, where 1.05 gave 1.17–1.22× and one limit 1.43–1.54× (docs/limits.md, "A batch
 * limit").
 */
export const defaultBatchTolerance = 1.02;

export const providerKinds = [
  'openai',
  'openai-compatible',
  'azure',
  'anthropic',
  'gemini',
  'bedrock',
  'cohere',
  'mistral',
  'simulator',
] as const;

const positiveMs = z.number().int().positive();

const timeouts = z
  .object({
    connect_ms: positiveMs.default(5_000).describe('TCP+TLS connect timeout.'),
    ttft_ms: positiveMs
      .default(30_000)
      .describe(
        'Time from sending the request to the first token (first body byte when non-streaming: response headers).',
      ),
    idle_ms: positiveMs.default(30_000).describe('Longest silence between two stream chunks.'),
    total_ms: positiveMs.default(600_000).describe('Whole upstream call, first byte to last.'),
  })
  .strict();

const simulatorSettings = z
  .object({
    latency_ms: z.number().int().min(0).default(0),
    ttft_ms: z.number().int().min(0).default(0),
    tokens_per_second: z.number().min(0).default(0).describe('0 = no pacing.'),
    output_tokens: z.number().int().min(1).default(16),
    seed: z.number().int().default(1),
  })
  .strict();

const provider = z
  .object({
    name: z.string().min(1).describe('Unique name that targets refer to.'),
    kind: z.string().describe(`One of: ${providerKinds.join(', ')}.`),
    base_url: z
      .url()
      .optional()
      .describe('Upstream base URL including the version path, e.g. https://api.openai.com/v1.'),
    api_key: z
      .string()
      .optional()
      .describe('The provider credential. Sent only to this provider; never logged.'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('Extra headers sent on every upstream request.'),
    timeouts: timeouts.prefault({}),
    max_connections: z
      .number()
      .int()
      .positive()
      .default(256)
      .describe('Upstream connection pool size (keep-alive).'),
    simulator: simulatorSettings.prefault({}).describe('Behaviour of a `simulator` provider.'),
    api_version: z
      .string()
      .optional()
      .describe(
        'azure: the api-version query parameter (default 2024-10-21). anthropic: the anthropic-version header (default 2023-06-01).',
      ),
    region: z
      .string()
      .optional()
      .describe('bedrock: the AWS region (default: from base_url, else AWS_REGION, else us-east-1).'),
    aws_access_key_id: z
      .string()
      .optional()
      .describe('bedrock: access key id; absent: AWS_ACCESS_KEY_ID from the environment.'),
    aws_secret_access_key: z
      .string()
      .optional()
      .describe('bedrock: secret access key; absent: AWS_SECRET_ACCESS_KEY. Never logged.'),
    aws_session_token: z
      .string()
      .optional()
      .describe('bedrock: session token of temporary credentials; absent: AWS_SESSION_TOKEN.'),
    vertex: z
      .object({
        project: z.string().min(1),
        location: z.string().min(1).default('us-central1'),
      })
      .strict()
      .optional()
      .describe(
        'gemini: call Vertex AI instead of the Gemini API; api_key is then an OAuth access token sent as a Bearer token.',
      ),
  })
  .strict();

export const limitsSchema = z
  .object({
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    concurrency: z.number().int().positive().optional(),
  })
  .strict();

export const budgetSchema = z
  .object({
    usd: z.number().nonnegative(),
    period: z.enum(['daily', 'weekly', 'monthly', 'total']).default('monthly'),
    soft_usd: z
      .number()
      .nonnegative()
      .optional()
      .describe('Spend at which a warning is logged and budgets.webhook_url is called, once per period.'),
  })
  .strict();

const price = z
  .object({
    input_per_mtok: z.number().nonnegative(),
    output_per_mtok: z.number().nonnegative(),
    cached_input_per_mtok: z.number().nonnegative().optional(),
    cache_write_per_mtok: z
      .number()
      .nonnegative()
      .optional()
      .describe('Price of input tokens written to the prompt cache (Anthropic bills them at a premium).'),
  })
  .strict()
  .describe('USD per million tokens.');

const target = z
  .object({
    provider: z.string().describe('Name of a provider above.'),
    model: z.string().min(1).describe('Model name sent upstream (Azure: deployment; Bedrock: model id).'),
    weight: z.number().positive().default(1),
    limits: limitsSchema
      .optional()
      .describe(
        "This deployment's capacity: routing skips the target while it is full (shared by replicas with state.backend redis).",
      ),
    price: price
      .optional()
      .describe("This target's price, when it differs from the model's (the cost strategy)."),
  })
  .strict();

const routing = z
  .object({
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('Upstream attempts per request at most, retries and fallbacks together (hedges included).'),
    retry: z
      .object({
        backoff_base_ms: z
          .number()
          .int()
          .min(0)
          .default(50)
          .describe('First retry waits up to this (full jitter).'),
        backoff_max_ms: z.number().int().min(0).default(2_000).describe('Cap of the exponential backoff.'),
        budget_ratio: z
          .number()
          .min(0)
          .max(1)
          .default(0.2)
          .describe('Retries per provider at most this share of its requests over the window...'),
        budget_min_per_second: z.number().min(0).default(1).describe('...plus this many retries per second.'),
        budget_window_ms: positiveMs.default(10_000),
      })
      .strict()
      .prefault({}),
    breaker: z
      .object({
        consecutive_failures: z
          .number()
          .int()
          .min(1)
          .default(5)
          .describe('Opens after this many failures in a row...'),
        error_rate: z
          .number()
          .min(0)
          .max(1)
          .default(0.5)
          .describe('...or this failure rate over the window...'),
        min_requests: z
          .number()
          .int()
          .min(1)
          .default(20)
          .describe('...once the window holds this many requests.'),
        window_ms: positiveMs.default(10_000),
        open_ms: positiveMs.default(5_000).describe('How long it stays open before half-open trials.'),
        half_open_requests: z
          .number()
          .int()
          .min(1)
          .default(1)
          .describe('Trial requests at a time when half-open.'),
      })
      .strict()
      .prefault({}),
    latency: z
      .object({
        ewma_alpha: z
          .number()
          .gt(0)
          .max(1)
          .default(0.3)
          .describe('Weight of a new TTFT sample in the average.'),
        outlier_factor: z
          .number()
          .gt(1)
          .default(3)
          .describe('A target whose TTFT average is this many times the median of its peers is ejected...'),
        ejection_ms: positiveMs.default(30_000).describe('...for this long.'),
      })
      .strict()
      .prefault({}),
    cooldown_ms: positiveMs
      .default(5_000)
      .describe('How long a target rests after a 429 that names no reset time.'),
    cooldowns: z
      .boolean()
      .default(true)
      .describe(
        'Rest a target after its 429s and exhausted rate-limit headers (false: only the breaker judges).',
      ),
  })
  .strict()
  .prefault({});

const model = z
  .object({
    name: z.string().min(1).describe('What clients send as "model".'),
    strategy: z.enum(['weighted', 'least-busy', 'latency', 'cost']).default('weighted'),
    targets: z.array(target).min(1),
    fallbacks: z.array(z.string()).default([]),
    context_fallbacks: z.array(z.string()).default([]),
    policy_fallbacks: z.array(z.string()).default([]),
    hedging: z
      .object({ enabled: z.boolean().default(false), threshold_ms: positiveMs.optional() })
      .strict()
      .optional(),
    price: price.optional(),
    limits: limitsSchema
      .optional()
      .describe("Every client's requests to this model together, taken with the key's and team's limits."),
  })
  .strict();

export const prioritySchema = z.enum(['interactive', 'batch']);

export const keySchema = z
  .object({
    name: z.string().min(1),
    key: z.string().min(8).describe('The secret clients send as Bearer token. Stored hashed; never logged.'),
    team: z.string().optional(),
    models: z.array(z.string()).optional().describe('Allowed model names; absent = all.'),
    limits: limitsSchema.optional(),
    budget: budgetSchema.optional().describe("The key's spend per period, all its end-users together."),
    end_user_budget: budgetSchema
      .optional()
      .describe(
        "Each end-user's spend per period through this key (the request's `user` field or x-sluice-end-user header).",
      ),
    priority: prioritySchema.default('interactive'),
  })
  .strict();

export const teamSchema = z
  .object({ name: z.string().min(1), limits: limitsSchema.optional(), budget: budgetSchema.optional() })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8080),
        admin_key: z.string().optional().describe('Guards /admin/*.'),
        max_body_bytes: z
          .number()
          .int()
          .positive()
          .default(10 * 1024 * 1024)
          .describe('Largest request body; larger is 413.'),
        shutdown_grace_ms: z
          .number()
          .int()
          .min(0)
          .default(10_000)
          .describe('On SIGTERM, how long in-flight requests may take to finish.'),
        keep_alive_timeout_ms: z.number().int().positive().default(65_000),
        request_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(60_000)
          .describe(
            'Longest time a client may take to send its whole request (headers and body); answers may take longer.',
          ),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        access_log: z.boolean().default(true).describe('One line per request at info level.'),
      })
      .strict()
      .prefault({}),
    observability: z
      .object({
        tracing: z
          .object({
            sample_ratio: z
              .number()
              .min(0)
              .max(1)
              .default(1)
              .describe(
                'Share of new traces recorded and exported over OTLP (export is on when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set); a client traceparent sampled flag is followed. OTEL_TRACES_SAMPLER_ARG takes precedence.',
              ),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    state: z
      .object({
        backend: z.enum(['memory', 'redis']).default('memory'),
        redis_url: z.string().default('redis://127.0.0.1:6379/0'),
        on_error: z
          .enum(['open', 'closed'])
          .default('open')
          .describe(
            'Redis unreachable: open = per-replica limits (each limit divided by the replica count), closed = refuse (503).',
          ),
        key_prefix: z
          .string()
          .regex(hashTagPattern, 'must contain a Redis Cluster hash tag, e.g. {sluice}:')
          .default('{sluice}:')
          .describe(
            'Prefix of every Redis key Sluice writes; its {hash tag} keeps them in one cluster slot.',
          ),
        replicas: z
          .number()
          .int()
          .positive()
          .optional()
          .describe(
            'Replica count for per-replica limits while Redis is away; absent: the count last seen in Redis (replicas announce themselves there).',
          ),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z
          .string()
          .refine((u) => u === 'embedded' || u === 'none' || /^postgres(ql)?:\/\//.test(u), {
            message: 'must be "embedded", "none" or a postgres:// URL',
          })
          .default('embedded')
          .describe('The spend ledger: embedded SQLite under path, PostgreSQL, or none (no ledger).'),
        path: z
          .string()
          .min(1)
          .default('./data')
          .describe('Directory of the embedded database and of the ledger journal.'),
        sync_interval_ms: positiveMs
          .default(1_000)
          .describe(
            'How often a replica reads the keys and teams changed through the admin API (by any replica).',
          ),
      })
      .strict()
      .prefault({}),
    idempotency: z
      .object({
        ttl_ms: positiveMs
          .default(86_400_000)
          .describe('How long the first answer to an Idempotency-Key is kept for replays.'),
        wait_ms: positiveMs
          .default(600_000)
          .describe('How long a repeat waits for the first request with its key to finish.'),
      })
      .strict()
      .prefault({}),
    budgets: z
      .object({
        leases: z
          .boolean()
          .default(true)
          .describe(
            'With Redis: replicas take slices of a budget and admit from memory (false: one Redis round trip per reservation and per settlement).',
          ),
        webhook_url: z
          .url()
          .optional()
          .describe('Called with a JSON POST when a budget passes its soft_usd threshold.'),
      })
      .strict()
      .prefault({}),
    routing: routing.describe('Retries, circuit breakers, latency tracking and cooldowns, for every model.'),
    admission: z
      .object({
        adaptive_concurrency: z
          .object({
            enabled: z
              .boolean()
              .default(false)
              .describe(
                'Give each target a concurrency limit that follows its time to first token; excess requests wait in a priority queue.',
              ),
            initial: z.number().int().min(1).default(64),
            min: z.number().int().min(1).default(4),
            max: z.number().int().min(1).default(1_024),
            tolerance: z
              .number()
              .min(1)
              .max(10)
              .default(1.25)
              .describe(
                "How far a target's time to first token may rise above its unloaded baseline before its limit shrinks: lower keeps latency closer to the baseline, higher keeps more throughput when latency varies.",
              ),
            batch_tolerance: z
              .number()
              .min(1)
              .max(10)
              .default(defaultBatchTolerance)
              .describe(
                "A lower tolerance for the share of the limit batch requests may fill; at or above tolerance, one limit for both classes. Batch work alone takes a target only to where its time to first token starts to rise, so interactive requests do not wait behind batch ones in the upstream's own queue; interactive requests may take it on to tolerance.",
              ),
          })
          .strict()
          .prefault({}),
        queue: z
          .object({
            max_queued: z
              .number()
              .int()
              .min(0)
              .default(1_000)
              .describe('Waiting requests per target at most.'),
            interactive_wait_ms: positiveMs
              .default(2_000)
              .describe('Longest wait of an interactive request.'),
            batch_wait_ms: positiveMs.default(30_000).describe('Longest wait of a batch request.'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    providers: z.array(provider).min(1),
    models: z.array(model).min(1),
    keys: z.array(keySchema).default([]).describe('Virtual keys. None configured = open access (demo only).'),
    teams: z.array(teamSchema).default([]),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][number];
export type ModelConfig = Config['models'][number];
export type TargetConfig = ModelConfig['targets'][number];
export type KeyConfig = Config['keys'][number];
export type Timeouts = ProviderConfig['timeouts'];
export type RoutingConfig = Config['routing'];
export type AdmissionConfig = Config['admission'];
export type StateConfig = Config['state'];
export type SimulatorSettings = ProviderConfig['simulator'];
