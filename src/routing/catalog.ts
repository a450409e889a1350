/**
 * The models clients may name and the targets behind each, resolved once from the config to adapters. A
 * Target carries its live health (breaker, TTFT estimate, limits, in-flight count), which the router reads
 * to order and skip targets (docs/routing.md).
 */
import { AdaptiveLimit } from '../admission/concurrency/adaptive-limit.js';
import type { Limiter, LimitSpec } from '../admission/limits/limiter.js';
import { AdmissionQueue } from '../admission/queue/admission-queue.js';
import type {
  AdmissionConfig,
  ModelConfig,
  RoutingConfig,
  TargetConfig,
  Timeouts,
} from '../config/schema.js';
import type { ProviderAdapter } from '../providers/provider.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { LatencyTracker } from './latency-tracker.js';
import type { Candidate, Strategy } from './strategies.js';
import { TargetLimiter } from './target-limiter.js';

export class Target implements Candidate {
  /** `provider/model`: the key of cooldowns and of the target's metrics. */
  readonly id: string;
  readonly breaker: CircuitBreaker;
  readonly latency: LatencyTracker;
  /** The target's limits in this replica; without limits (a no-op) when they are shared (`shared`). */
  readonly limiter: TargetLimiter;
  /** The target's limits on the shared state backend (Redis), taken by every replica together. */
  readonly shared: { limiter: Limiter; spec: LimitSpec } | undefined;
  /** Attempts on this target whose answer is not finished yet (least-busy reads it). */
  inFlight = 0;
  /** Set while the target is ejected as a latency outlier (epoch ms). */
  ejectedUntil = 0;
  /** With adaptive concurrency: the limit that follows the target's TTFT, and the queue it sizes. */
  concurrency: AdaptiveLimit | undefined;
  slots: AdmissionQueue | undefined;

  constructor(
    readonly provider: ProviderAdapter,
    /** The model name sent upstream. */
    readonly model: string,
    readonly weight: number,
    readonly timeouts: Timeouts,
    /** USD per million tokens (input + output), for the cost strategy; undefined when no price is known. */
    readonly cost: number | undefined,
    routing: RoutingConfig,
    limits: TargetConfig['limits'],
    admission?: AdmissionConfig,
    sharedLimiter?: Limiter,
  ) {
    this.id = `${provider.name}/${model}`;
    const b = routing.breaker;
    this.breaker = new CircuitBreaker({
      consecutiveFailures: b.consecutive_failures,
      errorRate: b.error_rate,
      minRequests: b.min_requests,
      windowMs: b.window_ms,
      openMs: b.open_ms,
      halfOpenRequests: b.half_open_requests,
    });
    this.latency = new LatencyTracker(routing.latency.ewma_alpha);
    const limited =
      limits !== undefined &&
      (limits.rpm !== undefined || limits.tpm !== undefined || limits.concurrency !== undefined);
    if (limited && sharedLimiter !== undefined) {
      this.shared = { limiter: sharedLimiter, spec: { key: `target:${this.id}`, ...limits } };
      this.limiter = new TargetLimiter({});
    } else {
      this.shared = undefined;
      this.limiter = new TargetLimiter(limits ?? {});
    }
    const adaptive = admission?.adaptive_concurrency;
    if (admission !== undefined && adaptive?.enabled === true) {
      const limit = new AdaptiveLimit({
        initial: adaptive.initial,
        min: adaptive.min,
        max: adaptive.max,
        tolerance: adaptive.tolerance,
        batchTolerance: adaptive.batch_tolerance,
      });
      const queue = admission.queue;
      this.concurrency = limit;
      this.slots = new AdmissionQueue(() => limit.limit, {
        maxQueued: queue.max_queued,
        maxWaitMs: { interactive: queue.interactive_wait_ms, batch: queue.batch_wait_ms },
        pacing: true,
        batchCapacity: () => limit.batchLimit,
        paceOverMs: () => limit.roundTripMs,
      });
      limit.onChange = () => this.slots?.pump();
    }
  }

  get latencyMs(): number | undefined {
    return this.latency.ewmaMs;
  }
}

export interface HedgingPolicy {
  /** Fixed threshold; undefined: the first target's p95 TTFT. */
  thresholdMs: number | undefined;
}

export interface ModelRoute {
  name: string;
  strategy: Strategy;
  targets: Target[];
  /** Other model names, tried in order on classified failures. */
  fallbacks: string[];
  contextFallbacks: string[];
  policyFallbacks: string[];
  hedging: HedgingPolicy | undefined;
  created: number;
}

type Price = NonNullable<ModelConfig['price']>;
const costOf = (price: Price | undefined): number | undefined =>
  price === undefined ? undefined : price.input_per_mtok + price.output_per_mtok;

export class Catalog {
  private readonly byName = new Map<string, ModelRoute>();

  constructor(
    models: readonly ModelConfig[],
    providers: ReadonlyMap<string, { adapter: ProviderAdapter; timeouts: Timeouts }>,
    created: number,
    routing: RoutingConfig,
    admission?: AdmissionConfig,
    sharedLimiter?: Limiter,
  ) {
    for (const m of models) {
      const targets = m.targets.map((t) => {
        const provider = providers.get(t.provider);
        if (provider === undefined) throw new Error(`model ${m.name}: unknown provider ${t.provider}`);
        return new Target(
          provider.adapter,
          t.model,
          t.weight,
          provider.timeouts,
          costOf(t.price ?? m.price),
          routing,
          t.limits,
          admission,
          sharedLimiter,
        );
      });
      this.byName.set(m.name, {
        name: m.name,
        strategy: m.strategy,
        targets,
        fallbacks: m.fallbacks,
        contextFallbacks: m.context_fallbacks,
        policyFallbacks: m.policy_fallbacks,
        hedging: m.hedging?.enabled === true ? { thresholdMs: m.hedging.threshold_ms } : undefined,
        created,
      });
    }
  }

  get(name: string): ModelRoute | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<ModelRoute> {
    return this.byName.values();
  }

  /** Every target once, for metrics. */
  *targets(): IterableIterator<Target> {
    const seen = new Set<Target>();
    for (const route of this.byName.values()) {
      for (const target of route.targets) {
        if (seen.has(target)) continue;
        seen.add(target);
        yield target;
      }
    }
  }
}
