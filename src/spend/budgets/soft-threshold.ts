/**
 * Soft thresholds: when a budget's spend passes its `soft_usd`, a warning is logged and, with
 * `budgets.webhook_url`, a JSON POST is sent, once per budget and period in each replica (a replica
 * remembers what it has announced; with several replicas each may announce once).
 *
 * Checked after the settlement, off the answer's path, only for budgets that have a threshold: one read
 * of the budget's state. The webhook is fire-and-forget with a 5 s timeout; a failure is logged, never
 * retried (an alert is not a ledger entry).
 */
import type { Logger } from 'pino';
import type { BudgetSpec, BudgetStore } from './budget-store.js';
import { periodAt } from './periods.js';

export interface SoftBudget extends BudgetSpec {
  softUsd: number;
}

export class SoftThresholds {
  private readonly announced = new Set<string>();

  constructor(
    private readonly store: BudgetStore,
    private readonly logger: Logger,
    private readonly webhookUrl: string | undefined,
  ) {}

  /**
   * After a settlement: announces every budget of `specs` that has now passed its threshold. `ids` (the
   * request's request_id, trace_id and span_id) go on the log line: the request that crossed it.
   */
  async check(
    specs: readonly SoftBudget[],
    ids: Record<string, string> = {},
    now = Date.now(),
  ): Promise<void> {
    for (const spec of specs) {
      const id = `${spec.subject}\u0000${periodAt(spec.period, now).id}`;
      if (this.announced.has(id)) continue;
      const state = await this.store.state(spec, now);
      if (state.spentUsd < spec.softUsd) continue;
      this.announced.add(id);
      const event = {
        type: 'budget.soft_threshold',
        subject: spec.subject,
        period: spec.period,
        budget_usd: spec.usd,
        soft_usd: spec.softUsd,
        spent_usd: state.spentUsd,
        resets_at: Number.isFinite(state.resetsAt) ? new Date(state.resetsAt).toISOString() : null,
        at: new Date(now).toISOString(),
      };
      this.logger.warn({ ...ids, ...event }, `budget of ${spec.subject} passed its soft threshold`);
      if (this.webhookUrl !== undefined) this.post(event);
    }
  }

  private post(event: Record<string, unknown>): void {
    fetch(this.webhookUrl as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(5_000),
    }).then(
      async (response) => {
        await response.body?.cancel();
        if (!response.ok) this.logger.warn({ status: response.status }, 'budget webhook answered an error');
      },
      (error: unknown) => this.logger.warn({ err: error }, 'budget webhook failed'),
    );
  }
}
