/**
 * The budget store on the configured state backend: in process, or Redis shared by every replica. None
 * when no key or team has a budget, so such a gateway pays nothing for them. With Redis unreachable at
 * start the gateway does not start, whatever `state.on_error` says: a budget that cannot be enforced would
 * let spend run unbounded.
 */
import { accountsEnabled } from '../../accounts/create-account-store.js';
import type { Config } from '../../config/schema.js';
import type { BudgetStore } from './budget-store.js';
import { MemoryBudgetStore } from './memory-budgets.js';

export function hasBudgets(config: Config): boolean {
  return (
    config.keys.some((k) => k.budget !== undefined || k.end_user_budget !== undefined) ||
    config.teams.some((t) => t.budget !== undefined)
  );
}

export async function createBudgetStore(config: Config): Promise<BudgetStore | undefined> {
  // With the admin API any key or team may be given a budget while the gateway runs.
  if (!hasBudgets(config) && !accountsEnabled(config)) return undefined;
  if (config.state.backend === 'memory') return new MemoryBudgetStore();
  const options = { url: config.state.redis_url, prefix: config.state.key_prefix };
  if (config.budgets.leases) {
    const { openLeasedBudgetStore } = await import('./leased-budgets.js');
    return openLeasedBudgetStore(options);
  }
  const { openRedisBudgetStore } = await import('./redis-budgets.js');
  return openRedisBudgetStore(options);
}
