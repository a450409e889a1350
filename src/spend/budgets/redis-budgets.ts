/**
 * Budgets shared by every replica through Redis: one Lua script per decision (Redis runs it alone, so a
 * reservation is atomic across replicas: all of a request's budgets or none), one per settlement.
 *
 * Each budget is a hash `{spent, reserved}` of integer nano-dollars at `<prefix>budget:<period id>:<subject>`
 * (HINCRBY is exact); the period id is part of the key, so a new period starts from zero, and the hash
 * expires a day after its period ends. Keys carry the prefix's hash tag, as the limiter's do, so one script
 * may touch a key's, its team's and its end-user's budgets on Redis Cluster.
 *
 * Failure: a reservation Redis cannot take rejects; the caller applies `state.on_error` (budgets never
 * fail open to unlimited spend: see pipeline/charge.ts). A settlement that fails leaves the reservation
 * charged until the period ends: the safe side.
 */
import type { Redis, Result } from 'ioredis';
import { requireHashTag } from '../../state/hash-tag.js';
import { closeStateClient, createStateClient, openStarted } from '../../state/redis-client.js';
import {
  checkSpecs,
  fromNanos,
  toNanos,
  type BudgetDecision,
  type BudgetHold,
  type BudgetSpec,
  type BudgetState,
  type BudgetStore,
} from './budget-store.js';
import { periodAt } from './periods.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sluiceBudgetReserve(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    sluiceBudgetSettle(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/**
 * KEYS: one budget hash per spec. ARGV: amount, then per key its limit and expiry (epoch ms, 0 = none).
 * Returns {1} when reserved, else {0, index (1-based), spent, reserved} of the first budget that refuses.
 */
const reserveScript = `
local amount = tonumber(ARGV[1])
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i])
  local v = redis.call('HMGET', KEYS[i], 'spent', 'reserved')
  local spent = tonumber(v[1] or '0') or 0
  local reserved = tonumber(v[2] or '0') or 0
  if spent + reserved + amount > limit then return {0, i, spent, reserved} end
end
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'reserved', amount)
  local expires = tonumber(ARGV[2 * i + 1])
  if expires > 0 then redis.call('PEXPIREAT', KEYS[i], expires) end
end
return {1}
`;

/** KEYS: the hold's budget hashes. ARGV: reserved amount, actual amount. */
const settleScript = `
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'reserved', -tonumber(ARGV[1]))
  redis.call('HINCRBY', KEYS[i], 'spent', tonumber(ARGV[2]))
end
return 1
`;

/** A period's counters outlive it by a day, for the admin API's "last period" and late settlements. */
const keepAfterPeriodMs = 86_400_000;

export interface RedisBudgetOptions {
  url: string;
  /** Must carry a hash tag, e.g. `{sluice}:`. */
  prefix: string;
  commandTimeoutMs?: number;
}

export async function openRedisBudgetStore(options: RedisBudgetOptions): Promise<RedisBudgetStore> {
  return openStarted(new RedisBudgetStore(options));
}

export class RedisBudgetStore implements BudgetStore {
  private readonly client: Redis;
  private readonly prefix: string;
  private closed = false;

  constructor(options: RedisBudgetOptions) {
    this.prefix = requireHashTag(options.prefix, 'redis budget');
    this.client = createStateClient(options.url, {
      commandTimeoutMs: options.commandTimeoutMs,
    });
    this.client.defineCommand('sluiceBudgetReserve', { lua: reserveScript });
    this.client.defineCommand('sluiceBudgetSettle', { lua: settleScript });
  }

  async start(): Promise<void> {
    await this.client.connect();
    await Promise.all([reserveScript, settleScript].map((lua) => this.client.script('LOAD', lua)));
  }

  async reserve(specs: readonly BudgetSpec[], amountUsd: number, now = Date.now()): Promise<BudgetDecision> {
    checkSpecs(specs);
    const amount = toNanos(amountUsd);
    const windows = specs.map((spec) => periodAt(spec.period, now));
    const keys = specs.map((spec, i) => this.keyOf(spec, (windows[i] as { id: string }).id));
    const args = [String(amount)];
    specs.forEach((spec, i) => {
      const endsAt = (windows[i] as { endsAt: number }).endsAt;
      args.push(
        String(toNanos(spec.usd)),
        Number.isFinite(endsAt) ? String(endsAt + keepAfterPeriodMs) : '0',
      );
    });
    const reply = await this.client.sluiceBudgetReserve(keys.length, ...keys, ...args);
    if (reply[0] === 1) return { admitted: true, hold: new RedisHold(this, keys, amount) };
    const index = (reply[1] ?? 1) - 1;
    const spec = specs[index] as BudgetSpec;
    return {
      admitted: false,
      exceeded: {
        subject: spec.subject,
        limitUsd: spec.usd,
        spentUsd: fromNanos(reply[2] ?? 0),
        reservedUsd: fromNanos(reply[3] ?? 0),
        resetsAt: (windows[index] as { endsAt: number }).endsAt,
      },
    };
  }

  async state(spec: BudgetSpec, now = Date.now()): Promise<BudgetState> {
    const window = periodAt(spec.period, now);
    const [spent, reserved] = await this.client.hmget(this.keyOf(spec, window.id), 'spent', 'reserved');
    return {
      subject: spec.subject,
      limitUsd: spec.usd,
      spentUsd: fromNanos(Number(spent ?? 0)),
      reservedUsd: fromNanos(Number(reserved ?? 0)),
      resetsAt: window.endsAt,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeStateClient(this.client);
  }

  /** @internal RedisHold's hook. */
  async settleHold(keys: readonly string[], reserved: number, actual: number): Promise<void> {
    await this.client.sluiceBudgetSettle(keys.length, ...keys, String(reserved), String(actual));
  }

  private keyOf(spec: BudgetSpec, periodId: string): string {
    return `${this.prefix}budget:${periodId}:${spec.subject}`;
  }
}

class RedisHold implements BudgetHold {
  private settled = false;
  constructor(
    private readonly store: RedisBudgetStore,
    private readonly keys: readonly string[],
    private readonly amount: number,
  ) {}

  get reservedUsd(): number {
    return fromNanos(this.amount);
  }

  async settle(actualUsd: number): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.store.settleHold(this.keys, this.amount, toNanos(actualUsd));
  }
}
