/**
 * One request's walk through its candidates: the model's targets in strategy order, skipping those that
 * cannot take it now, then the fallback models in order. A failure steers the walk: a context-window error
 * switches to `context_fallbacks`, a policy refusal to `policy_fallbacks`, anything retryable goes on to the
 * next target; when a model's targets are exhausted, its only failing target may be retried once (the stage
 * applies backoff and the retry budget). Fallback models' own fallbacks are not followed, so there are no
 * cycles and the walk is bounded by the config.
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

export class RoutePlan {
  readonly skipped: Skipped[] = [];
  /** The model of the target `next` returned last. */
  model: ModelRoute;
  private queue: Target[];
  private fallbacks: string[];
  private list: 'fallbacks' | 'context' | 'policy' = 'fallbacks';
  private readonly visited = new Set<string>();
  private sameTargetRetries = 0;

  constructor(
    private readonly router: Router,
    private readonly primary: ModelRoute,
    private readonly lookup: (name: string) => ModelRoute | undefined,
  ) {
    this.model = primary;
    this.queue = router.order(primary);
    this.fallbacks = primary.fallbacks.slice();
    this.visited.add(primary.name);
  }

  /** The next target to try after `failure` (none on the first call), or undefined when none is left. */
  next(failure?: Failure, now: number = Date.now()): Target | undefined {
    if (failure !== undefined) this.steer(failure.cls);
    for (;;) {
      while (this.queue.length > 0) {
        const target = this.queue.shift() as Target;
        const reason = this.router.unavailable(target, now);
        if (reason === undefined) return target;
        this.skipped.push({ target, reason });
      }
      if (
        failure !== undefined &&
        this.sameTargetRetries === 0 &&
        failure.cls !== 'auth' &&
        failure.cls !== 'rate_limited' &&
        this.list === 'fallbacks' &&
        this.model.targets.length === 1 &&
        this.model.targets[0] === failure.target &&
        this.router.unavailable(failure.target, now) === undefined
      ) {
        this.sameTargetRetries++;
        return failure.target;
      }
      const name = this.fallbacks.shift();
      if (name === undefined) return undefined;
      const model = this.lookup(name);
      if (model === undefined || this.visited.has(name)) continue;
      this.visited.add(name);
      this.model = model;
      this.queue = this.router.order(model);
    }
  }

  private steer(cls: FailureClass): void {
    if (cls === 'context_window' && this.list !== 'context') {
      this.list = 'context';
      this.queue = [];
      this.fallbacks = this.primary.contextFallbacks.slice();
    } else if (cls === 'content_policy' && this.list !== 'policy') {
      this.list = 'policy';
      this.queue = [];
      this.fallbacks = this.primary.policyFallbacks.slice();
    }
  }
}
