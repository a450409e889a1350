/**
 * One request's walk through its candidates: the model's targets in strategy order, skipping those that
 * cannot take it now, then the fallback models in order. A failure steers the walk: a context-window error
 * switches to `context_fallbacks`, a policy refusal to `policy_fallbacks`, anything retryable goes on to the
 * next target; when a model's targets are exhausted, its only failing target may be retried once (the stage
 * applies backoff and the retry budget), except after a timeout when a fallback model is left: a target
 * that hung once would likely eat the whole timeout again. Fallback models' own fallbacks are not followed,
 * so there are no cycles and the walk is bounded by the config.
 *
 * Hot path: a request that succeeds on its first target allocates the plan object and nothing else (the
 * single-target order is the model's own array, lists are walked by index, the rest is made on demand).
 */
import type { ModelRoute, Target } from './catalog.js';
import type { FailureClass } from './failure-class.js';
import type { Router, SkipReason } from './router.js';

export interface Skipped {
  target: Target;
  reason: SkipReason;
}

export interface Failure {
  cls: FailureClass;
  target: Target;
}

const none: readonly Skipped[] = [];

export class RoutePlan {
  /** Targets passed over and why; shared empty array until the first skip. */
  skipped: Skipped[] = none as Skipped[];
  /** The model of the target `next` returned last. */
  model: ModelRoute;
  private queue: readonly Target[];
  private at = 0;
  private fallbacks: readonly string[];
  private fallbackAt = 0;
  private list: 'fallbacks' | 'context' | 'policy' = 'fallbacks';
  private visited: Set<string> | undefined;
  private sameTargetRetries = 0;

  constructor(
    private readonly router: Router,
    private readonly primary: ModelRoute,
    private readonly lookup: (name: string) => ModelRoute | undefined,
  ) {
    this.model = primary;
    this.queue = router.order(primary);
    this.fallbacks = primary.fallbacks;
  }

  skip(target: Target, reason: SkipReason): void {
    if (this.skipped === none) this.skipped = [];
    this.skipped.push({ target, reason });
  }

  /** The next target to try after `failure` (none on the first call), or undefined when none is left. */
  next(failure?: Failure, now: number = Date.now()): Target | undefined {
    if (failure !== undefined) this.steer(failure.cls);
    for (;;) {
      while (this.at < this.queue.length) {
        const target = this.queue[this.at++] as Target;
        const reason = this.router.unavailable(target, now);
        if (reason === undefined) return target;
        this.skip(target, reason);
      }
      if (
        failure !== undefined &&
        this.sameTargetRetries === 0 &&
        failure.cls !== 'auth' &&
        failure.cls !== 'rate_limited' &&
        // A timed-out target would likely eat the whole timeout again: take the fallback instead.
        !(failure.cls === 'timeout' && this.fallbackAt < this.fallbacks.length) &&
        this.list === 'fallbacks' &&
        this.model.targets.length === 1 &&
        this.model.targets[0] === failure.target &&
        this.router.unavailable(failure.target, now) === undefined
      ) {
        this.sameTargetRetries++;
        return failure.target;
      }
      if (this.fallbackAt >= this.fallbacks.length) return undefined;
      const name = this.fallbacks[this.fallbackAt++] as string;
      const visited = (this.visited ??= new Set([this.primary.name]));
      const model = this.lookup(name);
      if (model === undefined || visited.has(name)) continue;
      visited.add(name);
      this.model = model;
      this.queue = this.router.order(model);
      this.at = 0;
    }
  }

  private steer(cls: FailureClass): void {
    if (cls === 'context_window' && this.list !== 'context')
      this.switchTo('context', this.primary.contextFallbacks);
    else if (cls === 'content_policy' && this.list !== 'policy')
      this.switchTo('policy', this.primary.policyFallbacks);
  }

  private switchTo(list: 'context' | 'policy', fallbacks: readonly string[]): void {
    this.list = list;
    this.queue = [];
    this.at = 0;
    this.fallbacks = fallbacks;
    this.fallbackAt = 0;
  }
}
