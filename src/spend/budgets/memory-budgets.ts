/**
 * Budgets for one process. A decision runs synchronously from check to commit, so on Node's single thread
 * it is atomic without locks. Counters are keyed by subject and period id, so a new period starts from
 * zero; counters of past periods are swept lazily.
 */
import {
  checkSpecs,
  CounterHold,
  fromNanos,
  toNanos,
  type BudgetDecision,
  type BudgetSpec,
  type BudgetState,
  type BudgetStore,
} from './budget-store.js';
import { periodAt } from './periods.js';

interface Counter {
  spent: number;
  reserved: number;
  endsAt: number;
}

const sweepEvery = 1_024;

export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, Counter>();
  private readonly clock: () => number;
  private decisions = 0;

  constructor(now: () => number = Date.now) {
    this.clock = now;
  }

  async reserve(specs: readonly BudgetSpec[], amountUsd: number, now?: number): Promise<BudgetDecision> {
    checkSpecs(specs);
    const amount = toNanos(amountUsd);
    const at = now ?? this.clock();
    if (++this.decisions % sweepEvery === 0) this.sweep(at);
    const counters = specs.map((spec) => this.counter(spec, at));
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i] as BudgetSpec;
      const c = counters[i] as Counter;
      if (c.spent + c.reserved + amount > toNanos(spec.usd)) {
        return { admitted: false, exceeded: stateOf(spec, c) };
      }
    }
    for (const c of counters) c.reserved += amount;
    // A request that straddles midnight is charged to the period it was admitted in.
    return { admitted: true, hold: new CounterHold(counters, amount) };
  }

  async state(spec: BudgetSpec, now?: number): Promise<BudgetState> {
    return stateOf(spec, this.counter(spec, now ?? this.clock()));
  }

  async close(): Promise<void> {
    this.counters.clear();
  }

  private counter(spec: BudgetSpec, at: number): Counter {
    const window = periodAt(spec.period, at);
    const id = `${spec.subject}\u0000${window.id}`;
    let c = this.counters.get(id);
    if (c === undefined) {
      c = { spent: 0, reserved: 0, endsAt: window.endsAt };
      this.counters.set(id, c);
    }
    return c;
  }

  private sweep(at: number): void {
    for (const [id, c] of this.counters) if (c.endsAt <= at && c.reserved === 0) this.counters.delete(id);
  }
}

function stateOf(spec: BudgetSpec, c: Counter): BudgetState {
  return {
    subject: spec.subject,
    limitUsd: spec.usd,
    spentUsd: fromNanos(c.spent),
    reservedUsd: fromNanos(c.reserved),
    resetsAt: c.endsAt,
  };
}
