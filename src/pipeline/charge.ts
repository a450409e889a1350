/**
 * Budgets (docs/budgets.md): before the upstream is called, the request's worst-case cost is reserved on
 * every budget that applies to it (its key's, its team's, its end-user's) in one atomic step; when the
 * answer is done the reservation is settled to the actual cost from the provider's usage. A budget that
 * cannot cover the worst case refuses with 429 `budget_exceeded` and `x-should-retry: false`, before
 * anything is sent.
 *
 * - Worst case: every prompt token (o200k count) at the highest input price and the maximum output
 *   (`max_tokens` / `max_completion_tokens`, else 4,096) at the highest output price among the targets the
 *   request may reach: the model's and its fallbacks'. So the actual cost exceeds the reservation only when
 *   the provider counts more prompt tokens than o200k does, or a request without a maximum writes more than
 *   4,096 tokens: that is the whole bound on overshoot (docs/budgets.md).
 * - Actual cost: the usage at the answering target's price. No usage and no upstream answer begun (it
 *   failed before its first token) costs nothing; an answer that began but whose usage is unknown (the
 *   client left mid-stream, the stream was cut) is charged the reservation: the provider bills what it
 *   generated, and Sluice cannot know how much that was.
 * - With the Redis backend unreachable, budgets never fail open: the request is refused with 503
 *   `state_unavailable` (an unlimited spend is not a safe default, unlike a rate limit).
 */
import type { Budget } from '../accounts/account-store.js';
import type { Directory } from '../auth/directory.js';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from 'pino';
import type { BudgetSpec, BudgetStore } from '../spend/budgets/budget-store.js';
import { SoftThresholds, type SoftBudget } from '../spend/budgets/soft-threshold.js';
import type { PriceBook } from '../spend/price-book.js';
import type { ModelRoute } from '../routing/catalog.js';
import { admissionDecision, publish } from '../observability/events.js';
import { requestIds } from '../observability/logger.js';
import type { Next, RequestContext, Stage } from './context.js';
import { endUserOf } from './end-user.js';
import { requestTokens } from './request-tokens.js';

function specOf(subject: string, budget: Budget): BudgetSpec & { softUsd?: number } {
  const spec: BudgetSpec & { softUsd?: number } = { subject, usd: budget.usd, period: budget.period };
  if (budget.soft_usd !== undefined) spec.softUsd = budget.soft_usd;
  return spec;
}

/** The key's, its team's and its end-user's budgets, read per request: the admin API may change them. */
function specsOf(ctx: RequestContext, directory: Directory): (BudgetSpec & { softUsd?: number })[] {
  const specs: (BudgetSpec & { softUsd?: number })[] = [];
  const key = ctx.key;
  if (key === undefined) return specs;
  if (key.budget !== undefined) specs.push(specOf(`key:${key.name}`, key.budget));
  const team = key.team === undefined ? undefined : directory.team(key.team)?.budget;
  if (team !== undefined) specs.push(specOf(`team:${key.team}`, team));
  if (key.endUserBudget !== undefined) {
    const user = endUserOf(ctx);
    if (user !== undefined) specs.push(specOf(`end_user:${key.name}:${user}`, key.endUserBudget));
  }
  return specs;
}

export function charge(
  store: BudgetStore,
  prices: PriceBook,
  config: Config,
  logger: Logger,
  directory: Directory,
): Stage {
  const soft = new SoftThresholds(store, logger, config.budgets.webhook_url);
  const charged = async (
    ctx: RequestContext,
    next: Next,
    specs: ReturnType<typeof specsOf>,
    model: ModelRoute,
  ): Promise<void> => {
    const began = performance.now();
    const tokens = await requestTokens(ctx);
    const worst = prices.worstCaseUsd(model.name, tokens.input, tokens.output);
    let decision;
    try {
      decision = await store.reserve(specs, worst);
      ctx.admissionMs += performance.now() - began;
    } catch (error) {
      ctx.admissionMs += performance.now() - began;
      publish(admissionDecision, { ctx, stage: 'budget', outcome: 'rejected', reason: 'state_unavailable' });
      throw new GatewayError('state_unavailable', 'the budget state is unreachable', {
        retryAfterSeconds: 1,
        cause: error,
      });
    }
    if (!decision.admitted) {
      publish(admissionDecision, { ctx, stage: 'budget', outcome: 'rejected', reason: 'budget_exceeded' });
      const { subject, limitUsd, spentUsd, reservedUsd, resetsAt } = decision.exceeded;
      const left = Math.max(0, limitUsd - spentUsd - reservedUsd);
      const resets = Number.isFinite(resetsAt) ? `; it resets at ${new Date(resetsAt).toISOString()}` : '';
      throw new GatewayError(
        'budget_exceeded',
        `the budget of ${subject} is exhausted: $${left.toFixed(6)} of $${limitUsd} left, and this request may cost up to $${worst.toFixed(6)}${resets}`,
      );
    }
    publish(admissionDecision, { ctx, stage: 'budget', outcome: 'admitted', reason: 'within_budget' });
    const hold = decision.hold;
    try {
      await next();
    } finally {
      const usage = ctx.usage;
      const target = ctx.target;
      let actual: number;
      if (usage !== undefined && target !== undefined) actual = prices.costUsd(model.name, target.id, usage);
      // No upstream answer began: nothing was generated, nothing is billed.
      else if (ctx.firstTokenAt === undefined) actual = 0;
      else actual = hold.reservedUsd;
      ctx.costUsd = actual;
      // Off the answer's path; a failure leaves the reservation charged until the period ends.
      const settled = hold.settle(actual);
      const watched = specs.filter((s): s is SoftBudget => s.softUsd !== undefined);
      (watched.length === 0 ? settled : settled.then(() => soft.check(watched, requestIds(ctx)))).catch(
        () => {},
      );
    }
  };
  // A request no budget applies to passes without an async stage of its own (see authenticate.ts).
  return (ctx, next) => {
    const specs = specsOf(ctx, directory);
    const model = ctx.model;
    return specs.length === 0 || model === undefined ? next() : charged(ctx, next, specs, model);
  };
}
