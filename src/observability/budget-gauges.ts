/**
 * `sluice_budget_spent_usd` and `sluice_budget_limit_usd` {scope, name, period}: where each key's and
 * team's budget stands, for the budget-burn alert (deploy/prometheus/alerts.yml) and the dashboard.
 *
 * Read from the budget store when Prometheus scrapes, not kept up to date per request: the request path
 * pays nothing, and the figure is the shared one (with Redis, every replica's spend, so all replicas
 * report the same value and the alert aggregates with max, not sum). End-users' budgets are left out: their
 * number is unbounded, which labels must never be. At most `maxBudgets` budgets are read a scrape, all at
 * once, so a scrape stays one round of reads however many keys the admin API has made.
 */
import { Gauge, type Registry } from './prom-client-parts.js';
import type { Budget } from '../accounts/account-store.js';
import type { Directory } from '../auth/directory.js';
import type { BudgetStore } from '../spend/budgets/budget-store.js';

const maxBudgets = 1_000;

interface Watched {
  scope: 'key' | 'team';
  name: string;
  budget: Budget;
}

function watched(directory: Directory): Watched[] {
  const out: Watched[] = [];
  for (const key of directory.keys.all()) {
    if (out.length >= maxBudgets) return out;
    if (key.budget !== undefined) out.push({ scope: 'key', name: key.name, budget: key.budget });
  }
  for (const team of directory.allTeams()) {
    if (out.length >= maxBudgets) return out;
    if (team.budget !== undefined) out.push({ scope: 'team', name: team.name, budget: team.budget });
  }
  return out;
}

export function registerBudgetGauges(registry: Registry, directory: Directory, store: BudgetStore): void {
  new Gauge({
    name: 'sluice_budget_limit_usd',
    help: "A key's or team's budget for its current period (end-users' budgets are not reported).",
    labelNames: ['scope', 'name', 'period'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of watched(directory))
        this.labels({ scope: w.scope, name: w.name, period: w.budget.period }).set(w.budget.usd);
    },
  });
  new Gauge({
    name: 'sluice_budget_spent_usd',
    help: "What a key or team has spent in its budget's current period, from the shared budget state.",
    labelNames: ['scope', 'name', 'period'],
    registers: [registry],
    async collect() {
      const budgets = watched(directory);
      const states = await Promise.allSettled(
        budgets.map((w) =>
          store.state({ subject: `${w.scope}:${w.name}`, usd: w.budget.usd, period: w.budget.period }),
        ),
      );
      this.reset();
      states.forEach((state, i) => {
        const w = budgets[i] as Watched;
        // An unreadable budget is left out of this scrape rather than reported as zero.
        if (state.status === 'fulfilled')
          this.labels({ scope: w.scope, name: w.name, period: w.budget.period }).set(state.value.spentUsd);
      });
    },
  });
}
