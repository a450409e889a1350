/**
 * Prometheus metrics (prom-client), fed by the pipeline's diagnostics-channel events. Each gateway
 * instance has its own Registry, so tests can run several in one process. Label values are bounded: the
 * model label is a configured model name or "unknown", never what a client typed.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestContext } from '../pipeline/context.js';
import type { LimiterHealth } from '../admission/limits/limiter.js';
import type { Target } from '../routing/catalog.js';
import {
  admissionDecision,
  attemptEnd,
  firstToken,
  requestEnd,
  requestStart,
  routeDecision,
  subscribe,
  type AdmissionEvent,
  type AttemptEvent,
  type RouteDecisionEvent,
} from './events.js';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const waitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const ttftBuckets = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

export interface GatewayMetrics {
  registry: Registry;
  close(): void;
}

/**
 * prom-client hashes the label object on every observation; the label sets here are few and fixed (bounded
 * by the config), so each one's bound child is looked up once and kept.
 */
class Children<T> {
  private readonly cache = new Map<string, T>();
  private readonly make: (labels: Record<string, string>) => T;
  constructor(make: (labels: Record<string, string>) => T) {
    this.make = make;
  }
  /** `key` must identify `labels` (callers join the values); `labels` is only built on a miss. */
  get(key: string, labels: () => Record<string, string>): T {
    let child = this.cache.get(key);
    if (child === undefined) {
      child = this.make(labels());
      this.cache.set(key, child);
    }
    return child;
  }
}

function labelsOf(ctx: RequestContext): { route: string; model: string; provider: string } {
  return {
    route: ctx.route,
    model: ctx.model?.name ?? 'unknown',
    provider: ctx.target?.provider.name ?? 'none',
  };
}

function keyOf(ctx: RequestContext): string {
  return `${ctx.route}\u0000${ctx.model?.name ?? ''}\u0000${ctx.target?.provider.name ?? ''}`;
}

const breakerValue = { closed: 0, 'half-open': 1, open: 2 } as const;

export function createMetrics(
  owner: object,
  targets: () => Iterable<Target> = () => [],
  state?: LimiterHealth,
): GatewayMetrics {
  const registry = new Registry();
  // Read at scrape time from the targets themselves: nothing on the request path.
  new Gauge({
    name: 'sluice_breaker_state',
    help: 'Circuit breaker of each target: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider', 'target_model'],
    registers: [registry],
    collect() {
      for (const target of targets()) {
        this.set(
          { provider: target.provider.name, target_model: target.model },
          breakerValue[target.breaker.state],
        );
      }
    },
  });
  new Gauge({
    name: 'sluice_target_in_flight',
    help: 'Upstream attempts in flight per target.',
    labelNames: ['provider', 'target_model'],
    registers: [registry],
    collect() {
      for (const target of targets()) {
        this.set({ provider: target.provider.name, target_model: target.model }, target.inFlight);
      }
    },
  });
  new Gauge({
    name: 'sluice_adaptive_concurrency_limit',
    help: 'Current adaptive concurrency limit of each target (admission.adaptive_concurrency).',
    labelNames: ['provider', 'target_model'],
    registers: [registry],
    collect() {
      for (const target of targets()) {
        if (target.concurrency === undefined) continue;
        this.set({ provider: target.provider.name, target_model: target.model }, target.concurrency.limit);
      }
    },
  });
  new Gauge({
    name: 'sluice_admission_queue_length',
    help: "Requests waiting for a target's concurrency slot, by priority.",
    labelNames: ['provider', 'target_model', 'priority'],
    registers: [registry],
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
      registers: [registry],
      collect() {
        this.set(state.degraded ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sluice_state_replicas',
      help: 'Replicas known from the shared state: what divides each limit while it is unreachable.',
      registers: [registry],
      collect() {
        this.set(state.replicas);
      },
    });
    new Counter({
      name: 'sluice_state_local_decisions_total',
      help: 'Admission decisions taken by this replica alone because the shared state was unreachable.',
      registers: [registry],
      collect() {
        // The limiter counts; the counter reports its running total.
        this.reset();
        this.inc(state.localDecisions);
      },
    });
  }
  const admissions = new Counter({
    name: 'sluice_admission_decisions_total',
    help: 'Admission decisions by stage (limits, queue), outcome and reason.',
    labelNames: ['stage', 'outcome', 'reason'],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'sluice_admission_queue_wait_seconds',
    help: "Time a request waited for a target's concurrency slot (0 when one was free).",
    labelNames: ['priority'],
    buckets: waitBuckets,
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'sluice_route_decisions_total',
    help: 'Routing beyond the first attempt: retry, fallback, hedge, or a retry the budget refused.',
    labelNames: ['decision', 'provider'],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'sluice_requests_total',
    help: 'Requests answered, by route, model, provider and HTTP status (499: the client left).',
    labelNames: ['route', 'model', 'provider', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'sluice_request_duration_seconds',
    help: 'Time from request arrival to the last byte of the answer.',
    labelNames: ['route', 'model', 'provider'],
    buckets: latencyBuckets,
    registers: [registry],
  });
  const ttft = new Histogram({
    name: 'sluice_time_to_first_token_seconds',
    help: 'Time from request arrival to the first token received from the upstream.',
    labelNames: ['route', 'model', 'provider'],
    buckets: ttftBuckets,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'sluice_requests_in_flight',
    help: 'Requests being processed.',
    labelNames: ['route'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'sluice_upstream_attempts_total',
    help: 'Upstream attempts, by provider and outcome (ok or the error kind).',
    labelNames: ['provider', 'outcome'],
    registers: [registry],
  });

  const requestsBy = new Children((l) => requests.labels(l));
  const durationBy = new Children((l) => duration.labels(l));
  const ttftBy = new Children((l) => ttft.labels(l));
  const inFlightBy = new Children((l) => inFlight.labels(l));
  const attemptsBy = new Children((l) => attempts.labels(l));
  const decisionsBy = new Children((l) => decisions.labels(l));
  const admissionsBy = new Children((l) => admissions.labels(l));
  const queueWaitBy = new Children((l) => queueWait.labels(l));

  const onStart = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner === owner) inFlightBy.get(ctx.route, () => ({ route: ctx.route })).inc();
  };
  const onEnd = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner) return;
    const key = keyOf(ctx);
    inFlightBy.get(ctx.route, () => ({ route: ctx.route })).dec();
    requestsBy
      .get(`${key}\u0000${ctx.status}`, () => ({ ...labelsOf(ctx), status: String(ctx.status) }))
      .inc();
    durationBy
      .get(key, () => labelsOf(ctx))
      .observe(((ctx.endedAt ?? performance.now()) - ctx.startedAt) / 1000);
  };
  const onFirstToken = (message: unknown): void => {
    const ctx = message as RequestContext;
    if (ctx.owner !== owner || ctx.firstTokenAt === undefined) return;
    ttftBy.get(keyOf(ctx), () => labelsOf(ctx)).observe((ctx.firstTokenAt - ctx.startedAt) / 1000);
  };
  const onAttemptEnd = (message: unknown): void => {
    const event = message as AttemptEvent;
    if (event.ctx.owner !== owner) return;
    const kind = (event.error as { kind?: unknown } | undefined)?.kind;
    const outcome = event.error === undefined ? 'ok' : typeof kind === 'string' ? kind : 'internal';
    attemptsBy.get(`${event.provider}\u0000${outcome}`, () => ({ provider: event.provider, outcome })).inc();
  };
  const onDecision = (message: unknown): void => {
    const event = message as RouteDecisionEvent;
    if (event.ctx.owner !== owner) return;
    decisionsBy
      .get(`${event.decision}\u0000${event.provider}`, () => ({
        decision: event.decision,
        provider: event.provider,
      }))
      .inc();
  };
  const onAdmission = (message: unknown): void => {
    const event = message as AdmissionEvent;
    if (event.ctx.owner !== owner) return;
    const { stage, outcome, reason } = event;
    admissionsBy.get(`${stage}\u0000${outcome}\u0000${reason}`, () => ({ stage, outcome, reason })).inc();
    if (event.waitedMs !== undefined) {
      const priority = event.ctx.priority;
      queueWaitBy.get(priority, () => ({ priority })).observe(event.waitedMs / 1000);
    }
  };
  const unsubscribe = [
    subscribe(admissionDecision, onAdmission),
    subscribe(routeDecision, onDecision),
    subscribe(requestStart, onStart),
    subscribe(requestEnd, onEnd),
    subscribe(firstToken, onFirstToken),
    subscribe(attemptEnd, onAttemptEnd),
  ];

  return {
    registry,
    close() {
      for (const off of unsubscribe) off();
    },
  };
}
