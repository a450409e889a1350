/**
 * Limits shared by every replica through Redis (ioredis): one Lua script per decision, so a decision is
 * one round trip and atomic (Redis runs a script with nothing interleaved): admitted into all of a
 * request's limits or none, however many replicas ask at once.
 *
 * - Scripts are loaded with SCRIPT LOAD at open and called by EVALSHA (ioredis defineCommand, which falls
 *   back to EVAL after a NOSCRIPT, e.g. when Redis restarted and lost its script cache).
 * - Time is Redis `TIME`, read inside the script: every replica's decision uses the same clock, so skew
 *   between replicas cannot widen a limit. Scripts are replicated by effects (the default since Redis 7;
 *   `redis.replicate_commands()` before), which is what allows writes after a TIME call.
 * - rpm and tpm: GCRA (gcra.ts), the same formulas in Lua; the tat is a string key written with `%.17g`
 *   (Lua's tostring keeps only 14 digits) and expiring once it is in the past, when it equals no state.
 *   Times are ms since gcra.ts's `epochMs`, not since 1970: smaller numbers keep more of a double's precision.
 * - concurrency: a sorted set of lease ids scored by expiry; every decision on that subject first drops
 *   the expired members, so a replica that crashed holding leases gives their slots back after
 *   `leaseTtlMs`, with no sweeper process.
 *
 * Keys: `<prefix>lim:<rpm|tpm|concurrency>:<subject>`, the prefix carrying one hash tag (`{sluice}:` by
 * default). Redis Cluster runs a script only when all its keys are in one slot, and one request touches
 * subjects of several kinds (key, team, model, target), so the whole gateway's limits share ONE slot.
 * Trade-off: admission scales to one Redis node's throughput (tens of thousands of decisions a second),
 * not across a cluster; tagging per subject would spread the load but make a decision over several
 * subjects impossible to take atomically.
 *
 * Failure: nothing queues for a Redis that is away (`enableOfflineQueue: false`, a short command
 * timeout): acquire() rejects at once and the caller applies `state.on_error`. A settle() or release()
 * that fails is not retried: the reservation stays charged (the safe side) and the slot frees at expiry.
 */
import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import { closeStateClient, createStateClient, openStarted } from '../../state/redis-client.js';
import { epochMs, toleranceMs } from './gcra.js';
import {
  checkTokens,
  defaultConcurrencyRetryMs,
  defaultLeaseTtlMs,
  limitEntries,
  tooLargeFor,
  windowMs,
  type Decision,
  type Lease,
  type LimitEntry,
  type Limiter,
  type LimiterOptions,
  type LimitSpec,
  type Reservation,
} from './limiter.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sluiceLimitAcquire(numberOfKeys: number, ...keysAndArgs: string[]): Result<number[], Context>;
    sluiceLimitSettle(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    sluiceLimitRelease(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    sluiceAnnounce(numberOfKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** The shared preamble: effect replication, the Redis clock, the window and tolerance. */
const preamble = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = (tonumber(t[1]) - ${epochMs / 1000}) * 1000 + tonumber(t[2]) / 1000
local W = ${windowMs}
local EPS = ${toleranceMs}
local function store_tat(key, tat)
  if tat <= now then redis.call('DEL', key) return end
  redis.call('SET', key, string.format('%.17g', tat), 'PX', math.ceil(tat - now) + 1000)
end
`;

/**
 * KEYS: one per limit entry. ARGV: tokens, lease id, lease ttl ms, concurrency retry ms, then for each
 * key its kind (r, t, c) and limit. Returns {1} when admitted, else {0, key index (1-based), retry after
 * ms, remaining}: the refusing limit with the longest wait. Nothing is written unless all admit (apart
 * from dropping expired leases, which changes no answer).
 */
const acquireScript = `${preamble}
local tokens = tonumber(ARGV[1])
local lease = ARGV[2]
local ttl = tonumber(ARGV[3])
local hint = tonumber(ARGV[4])
local next_tat = {}
local worst, worst_retry, worst_remaining = 0, 0, 0
for i = 1, #KEYS do
  local kind = ARGV[3 + 2 * i]
  local limit = tonumber(ARGV[4 + 2 * i])
  local retry, remaining = 0, 0
  if kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    local held = redis.call('ZCARD', KEYS[i])
    remaining = math.max(0, limit - held)
    if remaining == 0 then
      local oldest = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
      retry = math.max(1, math.min(hint, oldest - now))
    end
  else
    local cost = 1
    if kind == 't' then cost = tokens end
    local interval = W / limit
    local tat = tonumber(redis.call('GET', KEYS[i]) or '') or now
    if tat < now then tat = now end
    local nt = tat + cost * interval
    remaining = math.max(0, math.floor((W - (tat - now)) / interval + 1e-9))
    if nt - W - now > EPS then retry = nt - W - now else next_tat[i] = nt end
  end
  if retry > worst_retry then worst, worst_retry, worst_remaining = i, retry, remaining end
end
if worst > 0 then return {0, worst, math.ceil(worst_retry), worst_remaining} end
for i = 1, #KEYS do
  if ARGV[3 + 2 * i] == 'c' then
    redis.call('ZADD', KEYS[i], now + ttl, lease)
    if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
  else
    store_tat(KEYS[i], next_tat[i])
  end
end
return {1}
`;

/**
 * KEYS: the lease's tpm keys, then its concurrency keys. ARGV: token delta (negative refunds), number of
 * tpm keys, lease id, then each tpm key's limit. A refund never takes a tat below now (no credit).
 */
const settleScript = `${preamble}
local delta = tonumber(ARGV[1])
local tpm_keys = tonumber(ARGV[2])
for i = 1, tpm_keys do
  if delta ~= 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '') or now
    if tat < now then tat = now end
    store_tat(KEYS[i], math.max(now, tat + delta * W / tonumber(ARGV[3 + i])))
  end
end
for i = tpm_keys + 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[3]) end
return 1
`;

/**
 * KEYS: the replica registry (a sorted set of replica ids scored by last announcement, Redis time).
 * ARGV: this replica's id, how long an announcement counts. Returns the replicas alive now.
 */
const announceScript = `${preamble}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`;

/** KEYS: the lease's concurrency keys. ARGV: lease id. */
const releaseScript = `
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`;

export interface RedisLimiterOptions extends LimiterOptions {
  url: string;
  /** Must carry the hash tag: `{sluice}:` by default. */
  prefix?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/** Connects and loads the scripts; rejects when Redis does not answer. */
export async function openRedisLimiter(options: RedisLimiterOptions): Promise<RedisLimiter> {
  return openStarted(new RedisLimiter(options));
}

export class RedisLimiter implements Limiter {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly leaseTtlMs: number;
  private readonly concurrencyRetryMs: number;
  private closed = false;

  constructor(options: RedisLimiterOptions) {
    this.prefix = options.prefix ?? '{sluice}:';
    if (!/^[^{]*\{[^}]+\}/.test(this.prefix)) {
      throw new RangeError(`redis limiter prefix needs a hash tag, e.g. {sluice}:, got ${this.prefix}`);
    }
    this.leaseTtlMs = options.leaseTtlMs ?? defaultLeaseTtlMs;
    this.concurrencyRetryMs = options.concurrencyRetryMs ?? defaultConcurrencyRetryMs;
    this.client = createStateClient(options.url, {
      connectTimeoutMs: options.connectTimeoutMs,
      commandTimeoutMs: options.commandTimeoutMs,
    });
    this.client.defineCommand('sluiceLimitAcquire', { lua: acquireScript });
    this.client.defineCommand('sluiceLimitSettle', { lua: settleScript });
    this.client.defineCommand('sluiceLimitRelease', { lua: releaseScript });
    this.client.defineCommand('sluiceAnnounce', { lua: announceScript });
  }

  async start(): Promise<void> {
    await this.client.connect();
    // Warm the script cache so that even the first decision is a plain EVALSHA.
    await Promise.all(
      [acquireScript, settleScript, releaseScript, announceScript].map((lua) =>
        this.client.script('LOAD', lua),
      ),
    );
  }

  async acquire(specs: readonly LimitSpec[], tokens: number): Promise<Decision> {
    checkTokens(tokens);
    const entries = limitEntries(specs);
    const tooLarge = tooLargeFor(entries, tokens);
    if (tooLarge) return tooLarge;
    const leaseId = randomUUID();
    const keys = entries.map((e) => this.keyOf(e));
    const args = [String(tokens), leaseId, String(this.leaseTtlMs), String(this.concurrencyRetryMs)];
    for (const entry of entries) args.push(kindCode[entry.kind], String(entry.limit));
    const reply = await this.client.sluiceLimitAcquire(keys.length, ...keys, ...args);
    if (reply[0] === 1) {
      const tpm = entries.filter((e) => e.kind === 'tpm');
      const concurrency = entries.filter((e) => e.kind === 'concurrency');
      return { admitted: true, lease: new RedisLease(this, leaseId, { tokens }, tpm, concurrency) };
    }
    const entry = entries[(reply[1] ?? 1) - 1] as LimitEntry;
    return {
      admitted: false,
      limit: { key: entry.key, kind: entry.kind },
      retryAfterMs: reply[2] ?? 0,
      remaining: reply[3] ?? 0,
    };
  }

  /** Connected (ioredis reconnects by itself after an outage; commands fail at once until then). */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Says this replica is alive and returns how many are (announced within `aliveMs`): the count that
   * divides each limit while Redis is away (failover-limiter.ts).
   */
  async announce(replicaId: string, aliveMs: number): Promise<number> {
    return this.client.sluiceAnnounce(1, `${this.prefix}replicas`, replicaId, String(aliveMs));
  }

  /** Takes this replica out of the count at once (on shutdown), rather than after `aliveMs`. */
  async withdraw(replicaId: string): Promise<void> {
    await this.client.zrem(`${this.prefix}replicas`, replicaId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeStateClient(this.client);
  }

  /** @internal RedisLease's hooks. */
  async settleLease(
    leaseId: string,
    delta: number,
    tpm: readonly LimitEntry[],
    concurrency: readonly LimitEntry[],
  ): Promise<void> {
    const effective = delta === 0 ? [] : tpm;
    if (effective.length === 0 && concurrency.length === 0) return;
    const keys = [...effective, ...concurrency].map((e) => this.keyOf(e));
    const args = [String(delta), String(effective.length), leaseId, ...effective.map((e) => String(e.limit))];
    await this.client.sluiceLimitSettle(keys.length, ...keys, ...args);
  }

  /** @internal */
  async releaseLease(leaseId: string, concurrency: readonly LimitEntry[]): Promise<void> {
    if (concurrency.length === 0) return;
    const keys = concurrency.map((e) => this.keyOf(e));
    await this.client.sluiceLimitRelease(keys.length, ...keys, leaseId);
  }

  private keyOf(entry: LimitEntry): string {
    return `${this.prefix}lim:${entry.kind}:${entry.key}`;
  }
}

const kindCode = { rpm: 'r', tpm: 't', concurrency: 'c' } as const;

class RedisLease implements Lease {
  private settled = false;
  private released = false;

  constructor(
    private readonly limiter: RedisLimiter,
    readonly id: string,
    readonly reservation: Reservation,
    private readonly tpm: readonly LimitEntry[],
    private readonly concurrency: readonly LimitEntry[],
  ) {}

  async settle(actualTokens: number): Promise<void> {
    checkTokens(actualTokens);
    if (this.settled) return this.release();
    this.settled = true;
    // One script for both: the refund and the freed slot land together, in one round trip.
    const slots = this.released ? [] : this.concurrency;
    this.released = true;
    await this.limiter.settleLease(this.id, actualTokens - this.reservation.tokens, this.tpm, slots);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.limiter.releaseLease(this.id, this.concurrency);
  }
}
