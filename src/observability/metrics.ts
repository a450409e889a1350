/**
 * Prometheus metrics (prom-client), fed by the pipeline's diagnostics-channel events. Each gateway
 * instance has its own Registry, so tests can run several in one process. Label values are bounded by the
 * config and the admin API: model is a configured model name or "unknown", never what a client typed;
 * target is a configured target's id; team is a key's team; never a request id, a key or an end-user.
 * Names and their OpenTelemetry GenAI counterparts: docs/observability.md#metrics.
 */
import type { Counter as PromCounter, CounterConfiguration, RegistryContentType } from 'prom-client';
import { Counter, Gauge, Registry } from './prom-client-parts.js';
import type { RequestContext } from '../pipeline/context.js';
import type { LimiterHealth } from '../admission/limits/limiter.js';
import type { LedgerWriterStats } from '../ledger/ledger-writer.js';
import type { Target } from '../routing/catalog.js';
import type { PriceBook } from '../spend/price-book.js';
import { TalliedHistogram } from './tallied-histogram.js';
import {
  admissionDecision,
  attemptEnd,
  cacheResult,
  firstToken,
  requestEnd,
  requestStart,
  routeDecision,
  subscribe,
  type AdmissionEvent,
  type AttemptEvent,
  type CacheEvent,
  type RouteDecisionEvent,
} from './events.js';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const waitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const ttftBuckets = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];
// The GenAI convention's boundaries (0.01 .. 2.5 s), below them the 1-10 ms of today's fast decoders.
const tpotBuckets = [
  0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
];
const tokensPerSecondBuckets = [1, 2.5, 5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 1000, 2500, 5000];

export interface GatewayMetrics {
  registry: Registry;
  /**
   * The exposition: OpenMetrics 1.0 with exemplars when `openMetrics`, else the Prometheus text format
   * (which has no exemplars). Renders run one at a time (see render below).
   */
  render(openMetrics: boolean): Promise<string>;
  close(): void;
}

/**
 * prom-client hashes the label object on every observation; the label sets here are few and fixed (bounded
 * by the config), so each one's bound child is looked up once and kept.
 */
class Children<T> {
  /** Nested by key part, one level per part: a call site always passes the same number of parts. */
  private readonly root = new Map<string, unknown>();
  private readonly make: (labels: Record<string, string>) => T;
  constructor(make: (labels: Record<string, string>) => T) {
    this.make = make;
  }
  /**
   * The child of the label set the parts identify (the label values, in a fixed order); `labels` is only
   * built on a miss. Parts are looked up one map at a time rather than joined: the values are the
   * config's and the directory's own strings, whose hashes V8 keeps, while a joined key is a new string
   * to build and hash on every request.
   */
  get(labels: () => Record<string, string>, ...parts: [string, ...string[]]): T {
    let map = this.root;
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) map = inner(map, parts[i] as string);
    const key = parts[last] as string;
    let child = map.get(key) as T | undefined;
    if (child === undefined) {
      child = this.make(labels());
      map.set(key, child);
    }
    return child;
  }
}

function inner(map: Map<string, unknown>, key: string): Map<string, unknown> {
  let found = map.get(key) as Map<string, unknown> | undefined;
  if (found === undefined) {
    found = new Map();
    map.set(key, found);
  }
  return found;
}

/** One series of a tallied counter: what the request path added since the last scrape. */
class Tally {
  value = 0;
  readonly child: PromCounter.Internal;
  constructor(child: PromCounter.Internal) {
    this.child = child;
  }
}

/**
 * A Counter whose series the request path adds to in plain numbers, handed to prom-client when it is
 * collected (at each scrape). prom-client's inc() validates and hashes the label set on every call, about
 * 0.5 µs even on a bound child, and a request adds to several counters; a number costs nothing
 * (docs/observability.md#cost-on-the-request-path). Returns the series by label set.
 */
function tallied(configuration: CounterConfiguration<string>): Children<Tally> {
  const tallies: Tally[] = [];
  const counter = new Counter({
    ...configuration,
    collect() {
      for (const tally of tallies) {
        if (tally.value === 0) continue;
        tally.child.inc(tally.value);
        tally.value = 0;
      }
    },
  });
  return new Children((labels) => {
    const tally = new Tally(counter.labels(labels));
    tallies.push(tally);
    return tally;
  });
}

/** Exemplars only for recorded traces: an exemplar naming a trace nobody kept is a dead link. */
function hasExemplar(ctx: RequestContext): boolean {
  return ctx.traceSampled && ctx.traceId !== '';
}

const breakerValue = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * The ledger writer's counters and backlog (ledger/ledger-writer.ts), each series read from stats() at
 * the scrape: how far rows have come (recorded, in the journal, in the database), what waits on disk,
 * and what was lost. recorded − committed is the backlog; a backlog that grows while
 * consecutive_failures stays above 0 is a database refusing batches (docs/runbooks/sluice-ledger-backlog.md).
 */
function ledgerMetrics(
  ledger: { stats(): LedgerWriterStats },
  registers: Registry<RegistryContentType>[],
): void {
  // stats() is a few counters and two sums: cheap enough to call per series, and nothing on the request path.
  new Counter({
    name: 'sluice_ledger_rows_total',
    help: 'Ledger rows by how far they got: recorded, acknowledged (in the journal on disk), committed (in the database).',
    labelNames: ['stage'],
    registers,
    collect() {
      const { recorded, acknowledged, committed } = ledger.stats();
      this.reset();
      this.inc({ stage: 'recorded' }, recorded);
      this.inc({ stage: 'acknowledged' }, acknowledged);
      this.inc({ stage: 'committed' }, committed);
    },
  });
  const counter = (name: string, help: string, value: (s: LedgerWriterStats) => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value(ledger.stats()));
      },
    });
  };
  const gauge = (name: string, help: string, value: (s: LedgerWriterStats) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value(ledger.stats()));
      },
    });
  };
  counter(
    'sluice_ledger_rows_dropped_total',
    'Ledger rows lost: refused while the journal was at its disk cap, or lost with a failed journal write.',
    (s) => s.dropped,
  );
  counter(
    'sluice_ledger_rows_unreadable_total',
    'Journal lines that could not be read back (a last line cut short by a crash, or a corrupt one).',
    (s) => s.unreadable,
  );
  counter(
    'sluice_ledger_failed_batches_total',
    'Ledger batches the database refused; each is kept in the journal and retried.',
    (s) => s.failedBatches,
  );
  gauge(
    'sluice_ledger_consecutive_failures',
    'Ledger batches failed since the last one that committed (0 while the database takes them).',
    (s) => s.consecutiveFailures,
  );
  gauge(
    'sluice_ledger_pending_segments',
    'Sealed journal segments waiting for the database.',
    (s) => s.pendingSegments,
  );
  gauge('sluice_ledger_journal_bytes', 'Bytes of the ledger journal on disk.', (s) => s.journalBytes);
}

/**
 * `prices` prices answers for `sluice_cost_usd_total` when the budget stage did not (ctx.costUsd is set
 * only for requests with a budget); without it, only those requests' cost is counted. `ledger`, the
 * request ledger's writer, gives the sluice_ledger_* series (read at scrape time).
 */
export function createMetrics(
  owner: object,
  targets: () => Iterable<Target> = () => [],
  state?: LimiterHealth,
  prices?: PriceBook,
  ledger?: { stats(): LedgerWriterStats },
): GatewayMetrics {
  // The Prometheus format, switched to OpenMetrics only while an OpenMetrics scrape renders (render below).
  const registry = new Registry<RegistryContentType>();
  const registers = [registry];
  // Read at scrape time from the targets themselves: nothing on the request path.
  /** A gauge with one sample per target (provider, target_model); `value` undefined skips a target. */
  const perTarget = (name: string, help: string, value: (target: Target) => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['provider', 'target_model'],
      registers,
      collect() {
        for (const target of targets()) {
          const sample = value(target);
          if (sample !== undefined)
            this.set({ provider: target.provider.name, target_model: target.model }, sample);
        }
      },
    });
  };
  perTarget(
    'sluice_breaker_state',
    'Circuit breaker of each target: 0 closed, 1 half-open, 2 open.',
    (target) => breakerValue[target.breaker.state],
  );
  perTarget(
    'sluice_target_in_flight',
    'Upstream attempts in flight per target.',
    (target) => target.inFlight,
  );
  perTarget(
    'sluice_adaptive_concurrency_limit',
    'Current adaptive concurrency limit of each target (admission.adaptive_concurrency).',
    (target) => target.concurrency?.limit,
  );
  perTarget(
    'sluice_adaptive_concurrency_batch_limit',
    'Slots of the adaptive limit batch requests may fill (admission.adaptive_concurrency.batch_tolerance; the limit itself when that is at the tolerance).',
    (target) => target.concurrency?.batchLimit,
  );
  new Gauge({
    name: 'sluice_admission_queue_length',
    help: "Requests waiting for a target's concurrency slot, by priority.",
    labelNames: ['provider', 'target_model', 'priority'],
    registers,
    collect() {
      for (const target of targets()) {
        const slots = target.slots;
        if (slots === undefined) continue;
        for (const priority of ['interactive', 'batch'] as const) {
          this.set(
            { provider: target.provider.name, target_model: target.model, priority },
            slots.queuedOf(priority),
          );
        }
      }
    },
  });
  if (state !== undefined) {
    new Gauge({
      name: 'sluice_state_degraded',
      help: 'Whether the shared state (Redis) is unreachable and limits are per replica (state.on_error).',
      registers,
      collect() {
        this.set(state.degraded ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sluice_state_replicas',
      help: 'Replicas known from the shared state: what divides each limit while it is unreachable.',
      registers,
      collect() {
        this.set(state.replicas);
      },
    });
    new Counter({
      name: 'sluice_state_local_decisions_total',
      help: 'Admission decisions taken by this replica alone because the shared state was unreachable.',
      registers,
      collect() {
        // The limiter counts; the counter reports its running total.
        this.reset();
        this.inc(state.localDecisions);
      },
    });
  }

  if (ledger !== undefined) ledgerMetrics(ledger, registers);

  const admissions = tallied({
    name: 'sluice_admission_decisions_total',
    help: 'Admission decisions by stage (limits, budget, queue), outcome and reason.',
    labelNames: ['stage', 'outcome', 'reason'],
    registers,
  });
  const queueWait = new TalliedHistogram({
    name: 'sluice_admission_queue_wait_seconds',
    help: "Time a request waited for a target's concurrency slot (0 when one was free).",
    labelNames: ['priority'],
    buckets: waitBuckets,
    registers,
  });
  const decisions = tallied({
    name: 'sluice_route_decisions_total',
    help: 'Routing beyond the first attempt: retry, fallback, hedge, or a retry the budget refused.',
    labelNames: ['decision', 'provider'],
    registers,
  });
  const requests = tallied({
    name: 'sluice_requests_total',
    help: 'Requests answered, by route, model, target, team and HTTP status (499: the client left).',
    labelNames: ['route', 'model', 'provider', 'target', 'team', 'status'],
    registers,
  });
  const duration = new TalliedHistogram({
    name: 'sluice_request_duration_seconds',
    help: 'Time from request arrival to the last byte of the answer.',
    labelNames: ['route', 'model', 'provider', 'target', 'team'],
    buckets: latencyBuckets,
    registers,
  });
  const ttft = new TalliedHistogram({
    name: 'sluice_time_to_first_token_seconds',
    help: 'Time from request arrival to the first token from the upstream (non-stream: the whole answer).',
    labelNames: ['route', 'model', 'provider', 'target'],
    buckets: ttftBuckets,
    registers,
  });
  const tpot = new TalliedHistogram({
    name: 'sluice_time_per_output_token_seconds',
    help: 'Streamed answers: (last byte - first token) / (output tokens - 1).',
    labelNames: ['model', 'provider', 'target'],
    buckets: tpotBuckets,
    registers,
  });
  const tokensPerSecond = new TalliedHistogram({
    name: 'sluice_output_tokens_per_second',
    help: "Output tokens per second of answers from one attempt, from the attempt's start to the last byte.",
    labelNames: ['model', 'provider', 'target'],
    buckets: tokensPerSecondBuckets,
    registers,
  });
  const tokens = tallied({
    name: 'sluice_tokens_total',
    help: 'Tokens by type, as the provider reported them: input (cached included), output, cached_input.',
    labelNames: ['model', 'provider', 'team', 'type'],
    registers,
  });
  const cost = tallied({
    name: 'sluice_cost_usd_total',
    help: "Answers' cost in USD: as charged to budgets, else at the answering target's price.",
    labelNames: ['model', 'provider', 'team'],
    registers,
  });
  const cacheResults = tallied({
    name: 'sluice_cache_results_total',
    help: 'Results of the answer caches: idempotency (stored, replayed, conflict, in_progress).',
    labelNames: ['cache', 'result'],
    registers,
  });
  const inFlight = new Map<string, number>();
  new Gauge({
    name: 'sluice_requests_in_flight',
    help: 'Requests being processed.',
    labelNames: ['route'],
    registers,
    collect() {
      for (const [route, count] of inFlight) this.set({ route }, count);
    },
  });
  const attempts = tallied({
    name: 'sluice_upstream_attempts_total',
    help: 'Upstream attempts, by provider and outcome (ok or the error kind).',
    labelNames: ['provider', 'outcome'],
    registers,
  });

  // One bundle of bound children per label set, so a request:end event does one lookup per label set.
  const requestSeries = new Children((labels) => ({
    labels,
    duration: duration.seriesOf(labels),
    byStatus: new Map<number, Tally>(),
  }));
  const spendSeries = new Children((l) => {
    const { model, provider, team } = l as { model: string; provider: string; team: string };
    return {
      input: tokens.get(() => ({ ...l, type: 'input' }), model, provider, team, 'input'),
      output: tokens.get(() => ({ ...l, type: 'output' }), model, provider, team, 'output'),
      cachedInput: tokens.get(() => ({ ...l, type: 'cached_input' }), model, provider, team, 'cached_input'),
      cost: cost.get(() => l, model, provider, team),
    };
  });
  const speedSeries = new Children((l) => ({
    tpot: tpot.seriesOf(l),
    tokensPerSecond: tokensPerSecond.seriesOf(l),
  }));
  const ttftSeries = new Children((labels) => ({
    labels,
    ttft: ttft.seriesOf(labels),
  }));
  const queueWaitBy = new Children((l) => queueWait.seriesOf(l));

  const onStart = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner === owner) inFlight.set(ctx.route, (inFlight.get(ctx.route) ?? 0) + 1);
  };
  const onEnd = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner) return;
    const route = ctx.route;
    inFlight.set(route, (inFlight.get(route) ?? 1) - 1);
    const model = ctx.model?.name ?? 'unknown';
    const target = ctx.target;
    const provider = target?.provider.name ?? 'none';
    const targetId = target?.id ?? 'none';
    const team = ctx.key?.team ?? 'none';
    const series = requestSeries.get(
      () => ({ route, model, provider, target: targetId, team }),
      route,
      model,
      provider,
      targetId,
      team,
    );
    const status = ctx.status;
    let requested = series.byStatus.get(status);
    if (requested === undefined) {
      const labels = { ...series.labels, status: String(status) };
      requested = requests.get(() => labels, route, model, provider, targetId, team, labels.status);
      series.byStatus.set(status, requested);
    }
    requested.value += 1;
    const endedAt = ctx.endedAt ?? performance.now();
    const seconds = (endedAt - ctx.startedAt) / 1000;
    if (hasExemplar(ctx)) series.duration.observeWithTrace(seconds, ctx.traceId);
    else series.duration.observe(seconds);

    const usage = ctx.usage;
    const usd =
      ctx.costUsd ??
      (usage !== undefined && target !== undefined && prices !== undefined
        ? prices.costUsd(model, target.id, usage)
        : 0);
    if (usage === undefined && usd === 0) return;
    const spend = spendSeries.get(() => ({ model, provider, team }), model, provider, team);
    if (usd > 0) spend.cost.value += usd;
    if (usage === undefined) return;
    if (usage.inputTokens > 0) spend.input.value += usage.inputTokens;
    if (usage.outputTokens > 0) spend.output.value += usage.outputTokens;
    if (usage.cachedInputTokens !== undefined && usage.cachedInputTokens > 0)
      spend.cachedInput.value += usage.cachedInputTokens;

    // Speeds of complete answers only: a failed or cut one says nothing about how fast the target writes.
    const output = usage.outputTokens;
    if (target === undefined || output === 0 || ctx.error !== undefined || status < 200 || status >= 300)
      return;
    const speed = speedSeries.get(() => ({ model, provider, target: targetId }), model, provider, targetId);
    // Non-stream answers arrive whole: their "first token" is the answer's end, so they have no TPOT.
    if (output >= 2 && ctx.chat?.stream === true && ctx.firstTokenAt !== undefined)
      speed.tpot.observe((endedAt - ctx.firstTokenAt) / 1000 / (output - 1));
    // One attempt only: after a retry or a hedge, the time since the first start is not the target's alone.
    if (ctx.attempts === 1 && ctx.upstreamStartedAt !== undefined && endedAt > ctx.upstreamStartedAt)
      speed.tokensPerSecond.observe(output / ((endedAt - ctx.upstreamStartedAt) / 1000));
  };
  const onFirstToken = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner || ctx.firstTokenAt === undefined) return;
    const route = ctx.route;
    const model = ctx.model?.name ?? 'unknown';
    const provider = ctx.target?.provider.name ?? 'none';
    const targetId = ctx.target?.id ?? 'none';
    const series = ttftSeries.get(
      () => ({ route, model, provider, target: targetId }),
      route,
      model,
      provider,
      targetId,
    );
    const seconds = (ctx.firstTokenAt - ctx.startedAt) / 1000;
    if (hasExemplar(ctx)) series.ttft.observeWithTrace(seconds, ctx.traceId);
    else series.ttft.observe(seconds);
  };
  const onAttemptEnd = (message: unknown): void => {
    const event = message as AttemptEvent;
    if (event.ctx.owner !== owner) return;
    const kind = (event.error as { kind?: unknown } | undefined)?.kind;
    const outcome = event.error === undefined ? 'ok' : typeof kind === 'string' ? kind : 'internal';
    attempts.get(() => ({ provider: event.provider, outcome }), event.provider, outcome).value += 1;
  };
  const onDecision = (message: unknown): void => {
    const event = message as RouteDecisionEvent;
    if (event.ctx.owner !== owner) return;
    decisions.get(
      () => ({ decision: event.decision, provider: event.provider }),
      event.decision,
      event.provider,
    ).value += 1;
  };
  const onAdmission = (message: unknown): void => {
    const event = message as AdmissionEvent;
    if (event.ctx.owner !== owner) return;
    const { stage, outcome, reason } = event;
    admissions.get(() => ({ stage, outcome, reason }), stage, outcome, reason).value += 1;
    if (event.waitedMs !== undefined) {
      const priority = event.ctx.priority;
      queueWaitBy.get(() => ({ priority }), priority).observe(event.waitedMs / 1000);
    }
  };
  const onCache = (message: unknown): void => {
    const event = message as CacheEvent;
    if (event.ctx.owner !== owner) return;
    const { cache, result } = event;
    cacheResults.get(() => ({ cache, result }), cache, result).value += 1;
  };
  const unsubscribe = [
    subscribe(admissionDecision, onAdmission),
    subscribe(routeDecision, onDecision),
    subscribe(requestStart, onStart),
    subscribe(requestEnd, onEnd),
    subscribe(firstToken, onFirstToken),
    subscribe(attemptEnd, onAttemptEnd),
    subscribe(cacheResult, onCache),
  ];

  /**
   * prom-client renders OpenMetrics by switching the registry's format, and on the way renames every
   * counter in place (`sluice_requests_total` becomes `sluice_requests`, its OpenMetrics family name), which
   * would leave the next Prometheus scrape without `_total` (prometheus/client_js#829). So an OpenMetrics
   * render puts the names and the format back when done, and renders are chained so none overlaps another.
   */
  async function renderNow(openMetrics: boolean): Promise<string> {
    if (!openMetrics) return registry.metrics();
    const names = registry.getMetricsAsArray().map((metric) => [metric, metric.name] as const);
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    try {
      return await registry.metrics();
    } finally {
      registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
      for (const [metric, name] of names) metric.name = name;
    }
  }
  let rendering: Promise<unknown> = Promise.resolve();

  return {
    registry: registry as Registry,
    render(openMetrics) {
      const run = (): Promise<string> => renderNow(openMetrics);
      const text = rendering.then(run, run);
      rendering = text.catch(() => undefined);
      return text;
    },
    close() {
      for (const off of unsubscribe) off();
    },
  };
}
