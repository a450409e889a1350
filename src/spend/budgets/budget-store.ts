/**
 * Budgets: how much a key, a team or an end-user may spend per period, enforced before the upstream is
 * called. A request reserves its worst-case cost (every prompt token at the full input price plus its
 * maximum output) on every budget that applies to it, in one atomic step (all or none), and settles to its
 * actual cost when the answer is done: the difference is released. So the budget holds under contention:
 * 2,000 requests arriving in the same second each see the reservations of those before them, and the ones
 * that would take the spend past the budget are refused before they cost anything.
 *
 * Amounts are integer nano-dollars (1e-9 USD) inside the stores: a cheap request costs ~1e-5 USD, which
 * floats would add up with drift, and Redis HINCRBY is exact on integers (up to 9e9 USD).
 *
 * Two backends pass one conformance suite (test/budgets-conformance.test.ts): MemoryBudgetStore (one
 * process) and RedisBudgetStore (replicas share the counters; one Lua script per decision).
 */
import type { BudgetPeriod } from './periods.js';

export interface BudgetSpec {
  /** `key:<name>`, `team:<name>` or `end_user:<id>`. */
  subject: string;
  usd: number;
  period: BudgetPeriod;
}

export interface BudgetState {
  subject: string;
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  /** Epoch ms when the period ends and the budget is whole again; Infinity for `total`. */
  resetsAt: number;
}

export type BudgetDecision =
  | { admitted: true; hold: BudgetHold }
  /** The first budget that cannot take the reservation, as it stood. */
  | { admitted: false; exceeded: BudgetState };

/**
 * A reservation on every budget of one request. `settle(actualUsd)` charges the actual cost and releases
 * the reservation; only the first call counts. A holder that never settles (a crash) leaves its reservation
 * until the period ends: the safe side.
 */
export interface BudgetHold {
  readonly reservedUsd: number;
  settle(actualUsd: number): Promise<void>;
}

export interface BudgetStore {
  /** Reserves `amountUsd` on every budget of `specs`, or on none. `now` is honoured by the memory store. */
  reserve(specs: readonly BudgetSpec[], amountUsd: number, now?: number): Promise<BudgetDecision>;
  /** Where a budget stands now (spent, reserved), e.g. for soft thresholds and the admin API. */
  state(spec: BudgetSpec, now?: number): Promise<BudgetState>;
  close(): Promise<void>;
}

/** What a hold settles in a local counter (nano-dollars): its in-flight reservations and its spend. */
export interface HeldCounter {
  reserved: number;
  spent: number;
}

/**
 * A hold on in-process counters (the memory store's, the leased store's slices): settling releases the
 * reservation from each and charges the actual cost, once.
 */
export class CounterHold implements BudgetHold {
  private counters: readonly HeldCounter[] | undefined;

  constructor(
    counters: readonly HeldCounter[],
    private readonly amount: number,
  ) {
    this.counters = counters;
  }

  get reservedUsd(): number {
    return fromNanos(this.amount);
  }

  async settle(actualUsd: number): Promise<void> {
    const counters = this.counters;
    if (counters === undefined) return;
    this.counters = undefined;
    const actual = toNanos(actualUsd);
    for (const c of counters) {
      c.reserved -= this.amount;
      c.spent += actual;
    }
  }
}

/** USD to integer nano-dollars: reservations round up (never reserve less than the cost), charges too. */
export function toNanos(usd: number): number {
  if (!Number.isFinite(usd) || usd < 0)
    throw new RangeError(`an amount must be a non-negative number, got ${usd}`);
  return Math.ceil(usd * 1e9 - 1e-6);
}

export function fromNanos(nanos: number): number {
  return nanos / 1e9;
}

export function checkSpecs(specs: readonly BudgetSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (!Number.isFinite(spec.usd) || spec.usd < 0)
      throw new RangeError(`budget of ${spec.subject} must be a non-negative number, got ${spec.usd}`);
    if (seen.has(spec.subject)) throw new RangeError(`budget of ${spec.subject} given twice`);
    seen.add(spec.subject);
  }
}
