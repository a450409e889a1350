/**
 * Budgets on Redis with leases: each replica takes slices of a budget's remaining amount from Redis (a
 * lease) and admits requests against its slices in memory, so the hot path is usually a local check and
 * Redis sees one grant per many requests, plus a periodic flush. Written here because no library leases
 * a monetary counter with the bound below.
 *
 * - Grant (one Lua script for all the budgets that need more, atomic, all or none): the remaining amount
 *   is `limit − spent − reserved`, where `reserved` counts every replica's outstanding leases. The grant
 *   is a sixteenth of what remains, in whole multiples of the request's worst case, and never less than
 *   that worst case: large while the budget is large, one request at a time near the end, where it is
 *   the plain atomic counter. No grant when less than the worst case remains: the request is refused.
 * - Local: a request is admitted when every one of its budgets' leases still has its worst case free
 *   (`granted − in flight − spent`); it settles locally (in flight released, actual cost added to spent).
 * - Flush (every 250 ms): the spent part of each lease moves to Redis `spent` (and out of `reserved`);
 *   a lease that saw no new request since the last flush gives its unused part back, so an idle replica
 *   does not sit on budget that others need. On close everything is given back.
 * - Crash safety: every lease is recorded in Redis per replica with an expiry (10 s, renewed by each
 *   flush); a grant sweeps the expired records of other replicas and frees their amounts. A replica stops
 *   admitting from a lease 5 s after its last successful grant or flush, well before Redis would free it,
 *   so a replica cut off from Redis cannot spend a lease that another replica has been given.
 *
 * - A refusal by Redis is remembered for a flush interval: requests that lack at least as much are
 *   refused from memory meanwhile (at most 250 ms of refusals that a slice given back could have met).
 *
 * Guarantee: the sum over replicas of what their leases admit is at most what Redis granted, which is at
 * most the budget; the overshoot bound is the same as without leases (an actual cost above its
 * reservation). What leases cost is earliness: a replica may refuse while another holds unused slices,
 * by at most (replicas − 1) × one grant, and a grant is a sixteenth of what remained (down to one
 * request's worst case at the end); idle leases are given back within a flush interval.
 *
 * Keys: `<prefix>budget:<period>:<subject>` (the same hash as the atomic store: `spent`, `reserved`) and
 * `<prefix>budget-leases:<period>:<subject>` (replica id → `amount:expiresAt`).
 */
import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import { requireHashTag } from '../../state/hash-tag.js';
import { closeStateClient, createStateClient, openStarted } from '../../state/redis-client.js';
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sluiceBudgetGrant(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    sluiceBudgetFlush(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

const leaseTtlMs = 10_000;
/** A lease is used for at most this long after its last renewal (grant or flush). */
const leaseUseMs = 5_000;
const flushEveryMs = 250;
/** Grants are this fraction of what remains. */
const grantDivisor = 16;
const keepAfterPeriodMs = 86_400_000;

const now = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: per budget, its hash and its lease records. ARGV: replica id, lease ttl, then per budget: limit,
 * needed (what the request lacks beyond the lease's free part), unit (the request's worst case: the
 * grant beyond `needed` is whole units), expiry of the keys (epoch ms, 0 = none). Returns {1, grant...}
 * or {0, index, spent, reserved} for the first budget with less than `needed` remaining.
 */
const grantScript = `${now}
local id = ARGV[1]
local ttl = tonumber(ARGV[2])
local n = #KEYS / 2
local grants = {}
for i = 1, n do
  local b, l = KEYS[2 * i - 1], KEYS[2 * i]
  local base = 2 + 4 * (i - 1)
  local records = redis.call('HGETALL', l)
  for j = 1, #records, 2 do
    local amount, expires = string.match(records[j + 1], '^(%-?%d+):(%d+)$')
    if records[j] ~= id and tonumber(expires) < now then
      redis.call('HINCRBY', b, 'reserved', -tonumber(amount))
      redis.call('HDEL', l, records[j])
    end
  end
  local limit = tonumber(ARGV[base + 1])
  local needed = tonumber(ARGV[base + 2])
  local unit = tonumber(ARGV[base + 3])
  local v = redis.call('HMGET', b, 'spent', 'reserved')
  local spent = tonumber(v[1] or '0') or 0
  local reserved = tonumber(v[2] or '0') or 0
  local remaining = limit - spent - reserved
  if remaining < needed then return {0, i, spent, reserved} end
  local grant = math.max(needed, math.floor(remaining / ${grantDivisor}))
  if unit > 0 then grant = needed + unit * math.floor((grant - needed) / unit) end
  grants[i] = grant
end
local reply = {1}
for i = 1, n do
  local b, l = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('HINCRBY', b, 'reserved', grants[i])
  local held = 0
  local current = redis.call('HGET', l, id)
  if current then held = tonumber(string.match(current, '^(%-?%d+):')) end
  redis.call('HSET', l, id, (held + grants[i]) .. ':' .. (now + ttl))
  local expires = tonumber(ARGV[2 + 4 * i])
  if expires > 0 then
    redis.call('PEXPIREAT', b, expires)
    redis.call('PEXPIREAT', l, expires)
  end
  reply[i + 1] = grants[i]
end
return reply
`;

/**
 * KEYS: a budget's hash and lease records. ARGV: replica id, spent since the last flush, amount given
 * back, lease ttl. Moves the spent part to `spent`, frees what is given back, renews the record. Returns
 * 1, or 0 when the record had expired and was swept (its whole amount was already freed: only the spend
 * is added, and the replica must drop the lease).
 */
const flushScript = `${now}
local b, l = KEYS[1], KEYS[2]
local id = ARGV[1]
local spent = tonumber(ARGV[2])
local back = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
redis.call('HINCRBY', b, 'spent', spent)
local current = redis.call('HGET', l, id)
if not current then return 0 end
local held = tonumber(string.match(current, '^(%-?%d+):')) - spent - back
redis.call('HINCRBY', b, 'reserved', -(spent + back))
if held > 0 then redis.call('HSET', l, id, held .. ':' .. (now + ttl)) else redis.call('HDEL', l, id) end
return 1
`;

interface Lease {
  spec: BudgetSpec;
  budgetKey: string;
  leaseKey: string;
  /** Nano-dollars granted and not yet flushed as spent or given back. */
  granted: number;
  reserved: number;
  /** Settled since the last flush. */
  spent: number;
  /** Admissions since the last flush (an idle lease gives its unused part back). */
  used: boolean;
  validUntil: number;
  endsAt: number;
  /** A flush of this lease is under way. */
  flushing: boolean;
  /** A grant for this lease is under way (resolves, never rejects, when it is done). */
  granting: Promise<void> | undefined;
  /** The last refusal by Redis: what the request lacked, and the answer, reused for a flush interval. */
  refused: { at: number; lacked: number; decision: Extract<BudgetDecision, { admitted: false }> } | undefined;
}

export interface LeasedBudgetOptions {
  url: string;
  prefix: string;
  commandTimeoutMs?: number;
}

export async function openLeasedBudgetStore(options: LeasedBudgetOptions): Promise<LeasedBudgetStore> {
  return openStarted(new LeasedBudgetStore(options));
}

export class LeasedBudgetStore implements BudgetStore {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly id = randomUUID();
  private readonly leases = new Map<string, Lease>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(options: LeasedBudgetOptions) {
    this.prefix = requireHashTag(options.prefix, 'redis budget');
    this.client = createStateClient(options.url, {
      commandTimeoutMs: options.commandTimeoutMs,
    });
    this.client.defineCommand('sluiceBudgetGrant', { lua: grantScript });
    this.client.defineCommand('sluiceBudgetFlush', { lua: flushScript });
    this.timer = setInterval(() => void this.flushAll(false), flushEveryMs).unref();
  }

  async start(): Promise<void> {
    await this.client.connect();
    await Promise.all([grantScript, flushScript].map((lua) => this.client.script('LOAD', lua)));
  }

  async reserve(specs: readonly BudgetSpec[], amountUsd: number, at = Date.now()): Promise<BudgetDecision> {
    checkSpecs(specs);
    const amount = toNanos(amountUsd);
    for (;;) {
      // Looked up on every round: a lease emptied and dropped while this request waited is a new one now.
      const leases = specs.map((spec) => this.leaseOf(spec, at));
      const now = Date.now();
      const lacking = leases.filter((l) => now >= l.validUntil || free(l) < amount);
      if (lacking.length === 0) {
        for (const l of leases) {
          l.reserved += amount;
          l.used = true;
        }
        return { admitted: true, hold: new CounterHold(leases, amount) };
      }
      // Redis just said it has less than this: refuse at once, without asking again (for a flush
      // interval: other replicas give idle slices back about that often).
      const known = lacking.find((l) => l.refused !== undefined && now - l.refused.at < flushEveryMs);
      if (known?.refused !== undefined && amount - unused(known) >= known.refused.lacked)
        return known.refused.decision;
      // One grant in flight per lease: concurrent requests wait for it and look again, instead of each
      // asking Redis (2,000 requests arriving at once would otherwise be 2,000 grants).
      const pending = lacking.map((l) => l.granting).filter((p) => p !== undefined);
      if (pending.length > 0) {
        await Promise.all(pending);
        continue;
      }
      const granting = this.grant(lacking, amount, now);
      const settled = granting.then(
        () => undefined,
        () => undefined,
      );
      for (const l of lacking) l.granting = settled;
      let refused;
      try {
        refused = await granting;
      } finally {
        for (const l of lacking) if (l.granting === settled) l.granting = undefined;
      }
      if (refused === undefined) continue;
      // Redis has less than this request lacks; other requests may have settled meanwhile.
      const later = Date.now();
      if (leases.every((l) => later < l.validUntil && free(l) >= amount)) continue;
      const subject = refused.exceeded.subject;
      const refusing = lacking.find((l) => l.spec.subject === subject);
      if (refusing !== undefined)
        refusing.refused = { at: later, lacked: Math.max(1, amount - unused(refusing)), decision: refused };
      return refused;
    }
  }

  async state(spec: BudgetSpec, at = Date.now()): Promise<BudgetState> {
    await this.flushAll(false);
    return this.stateOfLease(this.leaseOf(spec, at));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // Everything back: spend moved to Redis, unused slices freed for the other replicas.
    if (this.client.status === 'ready') await this.flushAll(true).catch(() => undefined);
    await closeStateClient(this.client);
  }

  private leaseOf(spec: BudgetSpec, at: number): Lease {
    const window = periodAt(spec.period, at);
    const name = `${window.id}:${spec.subject}`;
    let lease = this.leases.get(name);
    if (lease === undefined) {
      lease = {
        spec,
        budgetKey: `${this.prefix}budget:${name}`,
        leaseKey: `${this.prefix}budget-leases:${name}`,
        granted: 0,
        reserved: 0,
        spent: 0,
        used: false,
        validUntil: 0,
        endsAt: window.endsAt,
        flushing: false,
        granting: undefined,
        refused: undefined,
      };
      this.leases.set(name, lease);
    } else {
      // A budget changed in the config applies from the next grant (the limit is checked in Redis).
      lease.spec = spec;
    }
    return lease;
  }

  /** One grant script for every lacking lease; undefined when granted. */
  private async grant(
    leases: readonly Lease[],
    amount: number,
    now: number,
  ): Promise<Extract<BudgetDecision, { admitted: false }> | undefined> {
    const keys: string[] = [];
    const args = [this.id, String(leaseTtlMs)];
    for (const l of leases) {
      keys.push(l.budgetKey, l.leaseKey);
      const expires = Number.isFinite(l.endsAt) ? l.endsAt + keepAfterPeriodMs : 0;
      // A lapsed lease's free part is not counted: it is asked for again in full.
      const lacks = now >= l.validUntil ? amount : Math.max(1, amount - unused(l));
      args.push(String(toNanos(l.spec.usd)), String(lacks), String(amount), String(expires));
    }
    const reply = await this.client.sluiceBudgetGrant(keys.length, ...keys, ...args);
    if (reply[0] !== 1) {
      const l = leases[(reply[1] ?? 1) - 1] as Lease;
      return {
        admitted: false,
        exceeded: {
          subject: l.spec.subject,
          limitUsd: l.spec.usd,
          spentUsd: fromNanos(reply[2] ?? 0),
          reservedUsd: fromNanos(Math.max(0, (reply[3] ?? 0) - unused(l))),
          resetsAt: l.endsAt,
        },
      };
    }
    leases.forEach((l, i) => {
      l.granted += reply[i + 1] ?? 0;
      l.validUntil = now + leaseUseMs;
    });
    return undefined;
  }

  private async flushAll(everything: boolean): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const [name, lease] of this.leases) {
      if (lease.flushing) continue;
      const idle = !lease.used && lease.reserved === 0;
      const back = everything || idle ? unused(lease) : 0;
      if (lease.spent === 0 && back === 0) {
        // Dropped only when nothing refers to it any more: a grant under way would land in an orphan.
        if (idle && lease.granted === 0 && lease.granting === undefined) this.leases.delete(name);
        lease.used = false;
        continue;
      }
      pending.push(this.flush(lease, back));
    }
    await Promise.all(pending);
  }

  private async flush(lease: Lease, back: number): Promise<void> {
    const spent = lease.spent;
    lease.flushing = true;
    lease.spent = 0;
    lease.granted -= spent + back;
    lease.used = false;
    const sentAt = Date.now();
    try {
      const kept = await this.client.sluiceBudgetFlush(
        2,
        lease.budgetKey,
        lease.leaseKey,
        this.id,
        String(spent),
        String(back),
        String(leaseTtlMs),
      );
      if (kept === 0) {
        // Expired in Redis and freed: nothing of it may be used any more.
        lease.granted = 0;
        lease.validUntil = 0;
      } else {
        lease.validUntil = sentAt + leaseUseMs;
      }
    } catch {
      // Undone; the lease lapses locally if flushes keep failing (validUntil is not renewed).
      lease.spent += spent;
      lease.granted += spent + back;
    } finally {
      lease.flushing = false;
    }
  }

  private async stateOfLease(lease: Lease): Promise<BudgetState> {
    const [spent, reserved] = await this.client.hmget(lease.budgetKey, 'spent', 'reserved');
    return {
      subject: lease.spec.subject,
      limitUsd: lease.spec.usd,
      spentUsd: fromNanos(Number(spent ?? 0) + lease.spent),
      // This replica's unused slices are not reserved by anyone; in-flight requests and other replicas'
      // leases are.
      reservedUsd: fromNanos(Math.max(0, Number(reserved ?? 0) - unused(lease) - lease.spent)),
      resetsAt: lease.endsAt,
    };
  }
}

const free = (l: Lease): number => l.granted - l.reserved - l.spent;
const unused = (l: Lease): number => Math.max(0, free(l));
