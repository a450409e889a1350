/**
 * Admission by the gateway's own limits: the limits of the request's virtual key, of its team and of the
 * model it names, taken in one atomic step from the state backend's limiter (all or none), before anything is
 * sent upstream. Tokens per minute are reserved as the prompt (a real tokenizer) plus the maximum output,
 * and settled to the actual usage when the answer is done; concurrency is held until then.
 *
 * A refused request is a 429 with Retry-After and the IETF RateLimit-Policy / RateLimit fields, and costs
 * the upstream nothing; a request larger than a tpm limit could ever admit is a 400 that says so. A
 * request with no such limit skips the stage. Targets' limits are a deployment's capacity, not a client's
 * quota: routing takes them when it picks the target (attempt-upstream.ts), and skips a full target.
 */
import type { Limiter, LimitSpec } from '../admission/limits/limiter.js';
import { rateLimit, rateLimitPolicy, type QuotaPolicy } from '../admission/ratelimit-headers.js';
import type { Directory } from '../auth/directory.js';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { admissionDecision, publish } from '../observability/events.js';
import type { Next, RequestContext, Stage } from './context.js';
import { requestTokens } from './request-tokens.js';

function report(ctx: RequestContext, outcome: 'admitted' | 'rejected', reason: string): void {
  publish(admissionDecision, { ctx, stage: 'limits', outcome, reason });
}

type Limits = { rpm?: number | undefined; tpm?: number | undefined; concurrency?: number | undefined };

function specsOf(
  ctx: RequestContext,
  directory: Directory,
  models: ReadonlyMap<string, Limits>,
): LimitSpec[] {
  const specs: LimitSpec[] = [];
  const key = ctx.key;
  const push = (name: string, limits: Limits | undefined): void => {
    if (limits === undefined) return;
    const spec: LimitSpec = { key: name };
    if (limits.rpm !== undefined) spec.rpm = limits.rpm;
    if (limits.tpm !== undefined) spec.tpm = limits.tpm;
    if (limits.concurrency !== undefined) spec.concurrency = limits.concurrency;
    if (spec.rpm !== undefined || spec.tpm !== undefined || spec.concurrency !== undefined) specs.push(spec);
  };
  if (key !== undefined) {
    push(`key:${key.name}`, key.limits);
    if (key.team !== undefined) push(`team:${key.team}`, directory.team(key.team)?.limits);
  }
  const model = ctx.model?.name;
  if (model !== undefined) push(`model:${model}`, models.get(model));
  return specs;
}

function policiesOf(specs: readonly LimitSpec[]): QuotaPolicy[] {
  const policies: QuotaPolicy[] = [];
  for (const spec of specs) {
    const scope = spec.key.replace(':', '-');
    if (spec.rpm !== undefined) policies.push({ name: `${scope}-rpm`, quota: spec.rpm, windowSeconds: 60 });
    if (spec.tpm !== undefined)
      policies.push({ name: `${scope}-tpm`, quota: spec.tpm, windowSeconds: 60, unit: 'tokens' });
    if (spec.concurrency !== undefined)
      policies.push({
        name: `${scope}-concurrency`,
        quota: spec.concurrency,
        windowSeconds: 1,
        unit: 'concurrent-requests',
      });
  }
  return policies;
}

/** Keys' and teams' limits are read from the directory per request: the admin API may change them. */
export function admit(limiter: Limiter, config: Config, directory: Directory): Stage {
  const models = new Map<string, Limits>(config.models.map((m) => [m.name, m.limits ?? {}]));
  const failOpen = config.state.on_error === 'open';
  const limited = async (
    ctx: RequestContext,
    next: Next,
    specs: ReturnType<typeof specsOf>,
  ): Promise<void> => {
    const began = performance.now();
    let tokens = 0;
    if (specs.some((s) => s.tpm !== undefined)) {
      const counted = await requestTokens(ctx);
      tokens = counted.input + counted.output;
    }
    let decision;
    try {
      decision = await limiter.acquire(specs, tokens);
      ctx.admissionMs += performance.now() - began;
    } catch (error) {
      ctx.admissionMs += performance.now() - began;
      // With Redis, on_error: open already fell back to local limits (failover-limiter.ts); this is
      // `closed`, or a local failure: `open` lets the request through unlimited, `closed` refuses it.
      if (failOpen) {
        report(ctx, 'admitted', 'state_unavailable');
        return next();
      }
      report(ctx, 'rejected', 'state_unavailable');
      throw new GatewayError('state_unavailable', 'the rate-limit state is unreachable', {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
    if (!decision.admitted) {
      if ('tooLarge' in decision) {
        report(ctx, 'rejected', 'exceeds_limit');
        const { key, max } = decision.tooLarge;
        throw new GatewayError(
          'exceeds_limit',
          `this request needs about ${tokens} tokens (prompt plus max output), more than the ${max} tokens per minute ${key} may ever use; lower max_tokens or shorten the prompt`,
        );
      }
      const { key, kind } = decision.limit;
      report(ctx, 'rejected', kind);
      const name = `${key.replace(':', '-')}-${kind}`;
      const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw new GatewayError('rate_limited', `${kind} limit of ${key} reached; retry after ${retryAfter} s`, {
        retryAfterSeconds: retryAfter,
        headers: {
          'ratelimit-policy': rateLimitPolicy(policiesOf(specs)),
          ratelimit: rateLimit({ name, remaining: decision.remaining ?? 0, resetSeconds: retryAfter }),
        },
      });
    }
    report(ctx, 'admitted', 'within_limits');
    const lease = decision.lease;
    try {
      await next();
    } finally {
      const usage = ctx.usage;
      // Settled off the answer's path: the client already has its answer; a failure only leaves the
      // reservation charged and the slot to expire with its lease.
      const settled =
        usage === undefined ? lease.release() : lease.settle(usage.inputTokens + usage.outputTokens);
      settled.catch(() => {});
    }
  };
  // A request no limit applies to passes without an async stage of its own (see authenticate.ts).
  return (ctx, next) => {
    const specs = specsOf(ctx, directory, models);
    return specs.length === 0 ? next() : limited(ctx, next, specs);
  };
}
