/**
 * The router's shared state and judgements: which targets can take a request now (cooldowns, breakers,
 * latency ejection), in what order (the model's strategy), the retry budget of each provider, and what an
 * attempt's outcome teaches (breaker verdicts, TTFT samples, cooldowns from rate-limit headers).
 *
 * Cooldowns live in the state backend's CooldownStore, so with Redis every replica avoids a key the
 * provider throttled; breakers, latency estimates and retry budgets stay per replica (docs/routing.md).
 */
import type { RoutingConfig } from '../config/schema.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import type { CooldownStore } from '../state/cooldowns.js';
import type { ModelRoute, Target } from './catalog.js';
import type { FailureClass } from './failure-class.js';
import { findOutliers } from './latency-tracker.js';
import { cooldownUntil } from './rate-limit-headers.js';
import { orderCandidates } from './strategies.js';

export type SkipReason = 'cooldown' | 'breaker-open' | 'ejected' | 'at-limit';

/** Failures that say the target is sick (a breaker counts them); a 429 is a quota signal, not sickness. */
const sickness = new Set<FailureClass>(['overloaded', 'server', 'timeout', 'connection', 'stream', 'auth']);

export class Router {
  private readonly budgets = new Map<string, RetryBudget>();
  private readonly failoverBudgets = new Map<string, RetryBudget>();

  constructor(
    readonly config: RoutingConfig,
    readonly cooldowns: CooldownStore,
    readonly random: () => number = Math.random,
  ) {}

  /** The provider's retry budget (made on first use). */
  budget(provider: string): RetryBudget {
    return this.budgetIn(this.budgets, provider);
  }

  /**
   * The model's budget for failing over to another of its targets (made on first use). A failover is a
   * second upstream attempt for one client request as much as a retry is: without this budget a model
   * whose n targets are all down would send n attempts per request, whatever the providers' budgets say.
   */
  failoverBudget(model: string): RetryBudget {
    return this.budgetIn(this.failoverBudgets, model);
  }

  private budgetIn(budgets: Map<string, RetryBudget>, key: string): RetryBudget {
    let budget = budgets.get(key);
    if (budget === undefined) {
      const r = this.config.retry;
      budget = new RetryBudget({
        ratio: r.budget_ratio,
        minPerSecond: r.budget_min_per_second,
        windowMs: r.budget_window_ms,
      });
      budgets.set(key, budget);
    }
    return budget;
  }

  /** The model's targets in the order its strategy prefers for this request. */
  order(model: ModelRoute): readonly Target[] {
    const targets = model.targets;
    if (targets.length === 1) return targets;
    return orderCandidates(model.strategy, targets, this.random);
  }

  /** Why `target` cannot take a request now, or undefined when it may (nothing is acquired here). */
  unavailable(target: Target, now: number): SkipReason | undefined {
    if (this.cooldowns.until(target.id) > now) return 'cooldown';
    if (target.ejectedUntil > now) return 'ejected';
    if (target.breaker.state === 'open') return 'breaker-open';
    return undefined;
  }

  /** A first-token sample: updates the estimate and ejects the model's latency outliers for a while. */
  observeTtft(model: ModelRoute, target: Target, ms: number, now: number): void {
    target.latency.observe(ms);
    const targets = model.targets;
    if (targets.length < 3) return;
    const flags = findOutliers(
      targets.map((t) => t.latency.ewmaMs),
      this.config.latency.outlier_factor,
      targets.map((t) => t.latency.samples),
    );
    flags.forEach((outlier, i) => {
      const t = targets[i] as Target;
      if (outlier && t.ejectedUntil <= now) t.ejectedUntil = now + this.config.latency.ejection_ms;
    });
  }

  /** Records a failed attempt: breaker verdict, and a cooldown when the provider said when to come back. */
  onFailure(target: Target, cls: FailureClass, error: GatewayError, now: number): void {
    if (sickness.has(cls)) target.breaker.onFailure();
    else target.breaker.release();
    if (this.config.cooldowns && (cls === 'rate_limited' || cls === 'overloaded')) {
      const upstream = error.upstream;
      let until: number | undefined;
      if (upstream !== undefined) {
        until = cooldownUntil(upstream.status, upstream.headers, now, this.config.cooldown_ms);
      } else if (error.retryAfterSeconds !== undefined) {
        until = now + error.retryAfterSeconds * 1000;
      }
      if (until === undefined && cls === 'rate_limited') until = now + this.config.cooldown_ms;
      if (until !== undefined && until > now) this.cooldowns.set(target.id, until);
    }
  }

  /** A successful answer's headers may announce an exhausted quota: rest the target until its reset. */
  onResponseHeaders(
    target: Target,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (status >= 400 || !this.config.cooldowns) return;
    const now = Date.now();
    const until = cooldownUntil(status, headers, now, this.config.cooldown_ms);
    if (until !== undefined && until > now) this.cooldowns.set(target.id, until);
  }
}
