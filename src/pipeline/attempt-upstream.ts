/**
 * Routing around the upstream attempt: picks targets in the model's strategy order, skips those cooling
 * down, ejected or behind an open breaker, retries and fails over on classified failures within
 * `routing.max_attempts`, the retry budgets (the provider's for a retry on it, the model's for a failover
 * to another of its targets; taking a fallback model is not charged) and the client's deadline, and races
 * a hedge when the model asks for one. Then it runs the rest of the pipeline (respond) and settles what the answer
 * taught: breaker verdicts, in-flight counts, target limits. docs/routing.md tells the rules.
 *
 * Only failures before the first byte reached the client are retried (adapters resolve once a stream's
 * first chunk is in hand); after that, the stream ends with an error event. Two answers are never spliced.
 */
import type { Timeouts } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { Cancellation } from '../http/cancellation.js';
import { admissionDecision, publish, routeDecision, type AdmissionEvent } from '../observability/events.js';
import type { ChatOutcome, EmbeddingsOutcome } from '../providers/provider.js';
import { fullJitterDelay } from '../resilience/backoff.js';
import type { Catalog, ModelRoute, Target } from '../routing/catalog.js';
import { classifyFailure, type FailureClass } from '../routing/failure-class.js';
import { RoutePlan, type Failure } from '../routing/route-plan.js';
import type { Router } from '../routing/router.js';
import type { TargetLease } from '../routing/target-limiter.js';
import type { Lease } from '../admission/limits/limiter.js';
import type { Admission } from '../admission/queue/admission-queue.js';
import { callTarget, type AttemptHooks } from './call-upstream.js';
import type { RequestContext, Stage } from './context.js';
import { toGatewayError } from './handle-errors.js';

type Outcome = ChatOutcome | EmbeddingsOutcome;

/** A running attempt: what must be settled once its answer is finished or abandoned. */
interface Attempt {
  target: Target;
  model: ModelRoute;
  lease: TargetLease;
  cancel: Cancellation;
  /** The target's concurrency slot, with adaptive concurrency (admission.adaptive_concurrency). */
  slot?: { release(): void } | undefined;
}

/** The timeouts of an attempt, shortened to what is left of the client's deadline. */
function timeoutsFor(target: Target, deadlineAt: number | undefined, now: number): Timeouts {
  const t = target.timeouts;
  if (deadlineAt === undefined) return t;
  const left = Math.max(1, Math.floor(deadlineAt - now));
  if (left >= t.total_ms && left >= t.ttft_ms) return t;
  return {
    connect_ms: Math.min(t.connect_ms, left),
    ttft_ms: Math.min(t.ttft_ms, left),
    idle_ms: Math.min(t.idle_ms, left),
    total_ms: Math.min(t.total_ms, left),
  };
}

function reportQueue(ctx: RequestContext, admission: Admission): void {
  const event: AdmissionEvent = admission.admitted
    ? {
        ctx,
        stage: 'queue',
        outcome: 'admitted',
        reason: admission.waitedMs > 0 ? 'waited' : 'immediate',
        waitedMs: admission.waitedMs,
      }
    : admission.reason === 'aborted'
      ? { ctx, stage: 'queue', outcome: 'abandoned', reason: 'client_gone' }
      : { ctx, stage: 'queue', outcome: 'shed', reason: admission.reason };
  admissionDecision.publish(event);
}

/**
 * A shared limiter's lease as a target lease: settled to the actual tokens when they are known, released
 * with the whole reservation kept when they are not. Off the answer's path; a failed settle leaves the
 * reservation charged (the safe side) and the slot to expire.
 */
function sharedLease(lease: Lease): TargetLease {
  return {
    release(actualTokens) {
      const done = actualTokens === undefined ? lease.release() : lease.settle(actualTokens);
      done.catch(() => {});
    },
  };
}

/** The tokenizer's count when limits or budgets already took it (request-tokens.ts), else the estimate. */
function counted(ctx: RequestContext): number {
  const tokens = ctx.tokens;
  return tokens === undefined ? estimateTokens(ctx) : tokens.input + tokens.output;
}

/** Rough size of the request for a target's tpm limit: prompt characters / 4 plus the output cap. */
function estimateTokens(ctx: RequestContext): number {
  const body = ctx.chat?.body;
  if (body === undefined) return 1;
  const cap = body['max_completion_tokens'] ?? body['max_tokens'];
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  return Math.ceil(length / 4) + (typeof cap === 'number' ? cap : 256);
}

function sleep(ms: number, cancel: Cancellation): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = cancel.onAbort(() => {
      clearTimeout(timer);
      reject(new GatewayError('client_closed', 'client disconnected'));
    });
  });
}

/** A cancellation of its own for an attempt that may be abandoned (a hedge), following the client's. */
function childOf(parent: Cancellation): Cancellation {
  const child = new Cancellation();
  parent.onAbort(() => child.abort(parent.reason));
  return child;
}

function log(ctx: RequestContext, entry: string): void {
  (ctx.routeLog ??= []).push(entry);
}

/** The answer when no target could even be tried: 429 if they all rest after rate limits, else 503. */
function nothingAvailable(plan: RoutePlan, router: Router, now: number): GatewayError {
  if (plan.skipped.length > 0 && plan.skipped.every((s) => s.reason === 'cooldown')) {
    const until = Math.min(...plan.skipped.map((s) => router.cooldowns.until(s.target.id)));
    return new GatewayError('upstream_rate_limited', 'every target of this model is rate limited', {
      retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)),
    });
  }
  return new GatewayError('no_available_target', 'no target of this model can take a request now', {
    retryAfterSeconds: Math.max(1, Math.ceil(router.config.breaker.open_ms / 1000)),
  });
}

export function attemptUpstream(router: Router, catalog: Catalog): Stage {
  const lookup = (name: string): ModelRoute | undefined => catalog.get(name);
  const { max_attempts: maxAttempts } = router.config;
  const { backoff_base_ms: backoffBase, backoff_max_ms: backoffMax } = router.config.retry;

  /**
   * Takes the target's breaker slot and limit; undefined (and logged) when either refuses. Synchronous
   * unless the target's limits are on the shared backend (one Redis round trip).
   */
  function acquire(
    ctx: RequestContext,
    plan: RoutePlan,
    target: Target,
  ): TargetLease | undefined | Promise<TargetLease | undefined> {
    if (!target.breaker.tryAcquire()) {
      plan.skip(target, 'breaker-open');
      return undefined;
    }
    if (target.shared !== undefined) return acquireShared(ctx, plan, target, target.shared);
    const lease = target.limiter.tryAcquire(target.limiter.limited ? counted(ctx) : 0);
    if (lease === undefined) {
      target.breaker.release();
      plan.skip(target, 'at-limit');
      return undefined;
    }
    target.inFlight++;
    return lease;
  }

  async function acquireShared(
    ctx: RequestContext,
    plan: RoutePlan,
    target: Target,
    shared: NonNullable<Target['shared']>,
  ): Promise<TargetLease | undefined> {
    const tokens = shared.spec.tpm === undefined ? 0 : counted(ctx);
    let decision;
    try {
      decision = await shared.limiter.acquire([shared.spec], tokens);
    } catch (error) {
      target.breaker.release();
      // Only with state.on_error: closed (open falls back to this replica's share).
      throw new GatewayError('state_unavailable', 'the rate-limit state is unreachable', {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
    if (!decision.admitted) {
      target.breaker.release();
      plan.skip(target, 'at-limit');
      return undefined;
    }
    target.inFlight++;
    return sharedLease(decision.lease);
  }

  async function start(ctx: RequestContext, attempt: Attempt): Promise<Outcome> {
    const target = attempt.target;
    ctx.target = target;
    const slots = target.slots;
    if (slots !== undefined) {
      // Adaptive concurrency: wait for one of the target's slots, interactive first; shed when the wait
      // would outlast the request's deadline or the queue is full (admission/queue/admission-queue.ts).
      const deadline =
        ctx.deadlineAt === undefined ? undefined : Date.now() + (ctx.deadlineAt - performance.now());
      const admission = await slots.acquire(ctx.priority, deadline, attempt.cancel);
      if (admission.admitted) ctx.queueMs += admission.waitedMs;
      if (admissionDecision.hasSubscribers) reportQueue(ctx, admission);
      if (!admission.admitted) {
        if (admission.reason === 'aborted') throw new GatewayError('client_closed', 'client disconnected');
        throw new GatewayError(
          'overloaded',
          `${target.id} is at its concurrency limit and this ${ctx.priority} request was shed (${admission.reason})`,
          { retryAfterSeconds: Math.max(1, Math.ceil(admission.retryAfterMs / 1000)) },
        );
      }
      attempt.slot = admission;
    }
    const timeouts =
      ctx.deadlineAt === undefined ? target.timeouts : timeoutsFor(target, ctx.deadlineAt, performance.now());
    try {
      return await callTarget(ctx, target, attempt.cancel, timeouts, hooksOf(attempt.model, target));
    } catch (error) {
      // A provider saying it is full is the controller's strongest signal: back off at once.
      const kind = (error as { kind?: unknown }).kind;
      if (kind === 'upstream_rate_limited' || kind === 'upstream_overloaded')
        target.concurrency?.onOverload();
      throw error;
    }
  }

  // One set of hooks per (model, target), made once: the request path allocates no closures for them.
  const hooks = new WeakMap<Target, AttemptHooks>();
  function hooksOf(model: ModelRoute, target: Target): AttemptHooks {
    let made = hooks.get(target);
    if (made === undefined) {
      made = {
        onFirstToken: (ms) => {
          router.observeTtft(model, target, ms, Date.now());
          target.concurrency?.onSample(ms, target.slots?.inFlight ?? 0);
        },
        onResponseHeaders: (status, headers) => router.onResponseHeaders(target, status, headers),
      };
      hooks.set(target, made);
    }
    return made;
  }

  /** An attempt that failed or was abandoned before answering. */
  function abandon(attempt: Attempt): void {
    attempt.target.inFlight--;
    attempt.lease.release(0);
    attempt.slot?.release();
  }

  /** Runs the first attempt with a hedge: a second target starts if the first has not answered in time. */
  async function hedged(
    ctx: RequestContext,
    plan: RoutePlan,
    first: Attempt,
    thresholdMs: number,
  ): Promise<{ attempt: Attempt; outcome: Outcome }> {
    const firstRun = start(ctx, first).then((outcome) => ({ attempt: first, outcome }));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), thresholdMs);
    });
    const early = await Promise.race([firstRun, late]).catch((error: unknown) => {
      clearTimeout(timer);
      throw error;
    });
    clearTimeout(timer);
    if (early !== 'late') return early;
    const target = ctx.attempts < maxAttempts ? plan.next() : undefined;
    let lease = target === undefined ? undefined : acquire(ctx, plan, target);
    if (lease instanceof Promise) lease = await lease;
    if (target === undefined || lease === undefined) return firstRun;
    // A hedge is extra load on its provider: it needs the retry budget like a retry does.
    if (!router.budget(target.provider.name).tryAcquire()) {
      abandon({ target, model: plan.model, lease, cancel: ctx.clientGone });
      target.breaker.release();
      return firstRun;
    }
    const second: Attempt = { target, model: plan.model, lease, cancel: childOf(ctx.clientGone) };
    publish(routeDecision, { ctx, decision: 'hedge', provider: target.provider.name, model: target.model });
    log(ctx, `${first.target.id}:slow`);
    const secondRun = start(ctx, second).then((outcome) => ({ attempt: second, outcome }));
    const settle = (loser: Attempt): void => {
      // The first answer wins; the other is stopped at once, and what it would have sent is not billed.
      loser.cancel.abort(new GatewayError('client_closed', 'a hedged attempt lost the race'));
      loser.target.breaker.release();
      abandon(loser);
    };
    try {
      const winner = await Promise.any([firstRun, secondRun]);
      settle(winner.attempt === first ? second : first);
      ctx.target = winner.attempt.target;
      log(ctx, `${winner.attempt.target.id}:won`);
      return winner;
    } catch (aggregate) {
      // Both failed: the caller handles the first attempt's error; the hedge's verdict is recorded here.
      const errors = (aggregate as AggregateError).errors;
      const hedgeError = toGatewayError(errors[1]);
      router.onFailure(second.target, classifyFailure(hedgeError), hedgeError, Date.now());
      abandon(second);
      throw errors[0];
    }
  }

  return async (ctx, next) => {
    const model = ctx.model as ModelRoute;
    const plan = new RoutePlan(router, model, lookup);
    let failure: Failure | undefined;
    let lastError: GatewayError | undefined;
    let attempt: Attempt | undefined;
    let outcome: Outcome | undefined;
    let retries = 0;
    /** The model whose failover budget has counted this request (the primary, then each fallback taken). */
    let budgetedModel: ModelRoute | undefined;

    try {
      while (outcome === undefined) {
        const now = performance.now();
        const target = plan.next(failure, Date.now());
        if (target === undefined) throw lastError ?? nothingAvailable(plan, router, Date.now());
        if (ctx.attempts >= maxAttempts) throw lastError as GatewayError;
        const provider = target.provider.name;
        const sameProvider = failure !== undefined && failure.target.provider.name === provider;
        const failover = failure !== undefined && !sameProvider && budgetedModel === plan.model;
        if (budgetedModel !== plan.model) {
          router.failoverBudget(plan.model.name).recordRequest();
          budgetedModel = plan.model;
        }
        let delay = 0;
        if (!sameProvider) {
          // Another target of the same model after a failure: bounded by the model's failover budget, so a
          // model whose targets are all down sees ~1.2x the client traffic, not one attempt per target.
          if (failover && !router.failoverBudget(plan.model.name).tryAcquire()) {
            publish(routeDecision, { ctx, decision: 'budget-exhausted', provider, model: target.model });
            log(ctx, `${target.id}:retry-budget-exhausted`);
            throw lastError as GatewayError;
          }
          router.budget(provider).recordRequest();
        } else {
          // A retry on the provider that just failed: bounded by its budget, spread by full jitter.
          if (!router.budget(provider).tryAcquire()) {
            publish(routeDecision, { ctx, decision: 'budget-exhausted', provider, model: target.model });
            log(ctx, `${target.id}:retry-budget-exhausted`);
            throw lastError as GatewayError;
          }
          delay = fullJitterDelay(++retries, backoffBase, backoffMax, router.random);
        }
        if (ctx.deadlineAt !== undefined && failure !== undefined) {
          // Skip what could not finish in time: the wait plus the target's usual time to first token.
          const needed = delay + (target.latency.ewmaMs ?? 0);
          if (ctx.deadlineAt - now <= needed) {
            log(ctx, `${target.id}:skipped(deadline)`);
            throw lastError as GatewayError;
          }
        }
        if (delay > 0) await sleep(delay, ctx.clientGone);
        let lease = acquire(ctx, plan, target);
        if (lease instanceof Promise) lease = await lease;
        if (lease === undefined) continue;
        if (failure !== undefined) {
          publish(routeDecision, {
            ctx,
            decision: plan.model === model ? 'retry' : 'fallback',
            provider,
            model: target.model,
          });
        }
        const current: Attempt = { target, model: plan.model, lease, cancel: ctx.clientGone };
        try {
          const hedging = plan.model.hedging;
          const threshold =
            hedging !== undefined && ctx.attempts === 0
              ? (hedging.thresholdMs ?? target.latency.p95Ms())
              : undefined;
          if (threshold !== undefined) {
            current.cancel = childOf(ctx.clientGone);
            const won = await hedged(ctx, plan, current, threshold);
            attempt = won.attempt;
            outcome = won.outcome;
          } else {
            outcome = await start(ctx, current);
            attempt = current;
          }
        } catch (thrown) {
          const error = toGatewayError(thrown);
          const cls: FailureClass = classifyFailure(error);
          abandon(current);
          if (cls === 'cancelled') {
            target.breaker.release();
            throw error;
          }
          router.onFailure(target, cls, error, Date.now());
          log(ctx, `${target.id}:${error.upstream?.status ?? error.kind}`);
          lastError = error;
          // A client error is the request's own fault: no other target or model would answer it better.
          if (cls === 'client') throw error;
          failure = { cls, target };
        }
      }
    } catch (error) {
      // The error answer's x-sluice-route shows what was passed over too.
      for (const skip of plan.skipped) log(ctx, `${skip.target.id}:skipped(${skip.reason})`);
      throw error;
    }

    const won = attempt as Attempt;
    ctx.target = won.target;
    ctx.outcome = outcome;
    for (const skip of plan.skipped) log(ctx, `${skip.target.id}:skipped(${skip.reason})`);
    if (ctx.routeLog !== undefined) log(ctx, `${won.target.id}:ok`);
    try {
      await next();
    } finally {
      won.target.inFlight--;
      won.slot?.release();
      const error = ctx.error;
      // A stream that broke after it started is the target's failure too; the client leaving is nobody's.
      if (error !== undefined && error.kind.startsWith('upstream_')) won.target.breaker.onFailure();
      else if (error !== undefined && error.kind === 'client_closed') won.target.breaker.release();
      else won.target.breaker.onSuccess();
      const usage = ctx.usage;
      won.lease.release(usage === undefined ? undefined : usage.inputTokens + usage.outputTokens);
    }
  };
}
