/**
 * Cooldowns shared between replicas through Redis (ioredis, the maintained Node client).
 *
 * Reads never touch Redis: every replica keeps a local copy (MemoryCooldownStore) that `until()` reads.
 * - `set()` extends the local copy at once, then, fire and forget, runs one Lua script (one round trip)
 *   that writes `{prefix}cooldown:<target> = untilMs` with `PXAT untilMs` only if that is later than what
 *   Redis holds, and PUBLISHes it on `{prefix}cooldowns`. Extend-only on both sides makes the order in
 *   which replicas hear about 429s irrelevant: every copy converges on the latest reset.
 * - Every replica SUBSCRIBEs on a second connection (a subscribed connection can run nothing else) and
 *   extends its copy from the messages.
 * - On (re)connect it subscribes, loads the existing keys (SCAN MATCH + MGET) so a new replica starts
 *   knowing the current cooldowns, and pushes back its own live ones, which covers what was set or
 *   published while it was cut off.
 *
 * Keys carry the prefix's hash tag (`{sluice}:`), so they live in one slot: the script's key and the SCAN
 * stay on one node of a Redis Cluster. Expiry is absolute epoch ms, so replicas compare their own clocks
 * with the resets upstreams send; NTP-level skew is well under a cooldown.
 *
 * Failure: nothing here waits on Redis or queues for it (`enableOfflineQueue: false`, a short command
 * timeout), so an unreachable Redis costs a rejected promise, never a slower request. Errors go to
 * `onError` once per outage, not once per command. With `failClosed` (state.on_error: closed) opening the
 * store rejects when Redis does not answer at start; once open, cooldowns always fail open.
 */
import { Redis, type Result } from 'ioredis';
import type { CooldownStore } from './cooldowns.js';
import { MemoryCooldownStore } from './memory-cooldowns.js';
import { closeStateClient } from './redis-client.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sluiceExtendCooldown(
      key: string,
      untilMs: string,
      channel: string,
      target: string,
    ): Result<number, Context>;
  }
}

/**
 * KEYS[1] the cooldown key; ARGV: untilMs, channel, target. Returns 1 when it extended (and published).
 * A value that is not a number (a stray write) is overwritten rather than trusted.
 */
const extendScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '')
if current ~= nil and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1] .. ' ' .. ARGV[3])
return 1
`;

export interface RedisCooldownOptions {
  url: string;
  prefix: string;
  /** Reject at open when Redis is unreachable (state.on_error: closed). */
  failClosed: boolean;
  onError: (error: unknown) => void;
  now?: () => number;
  /** A first connection that takes longer than this counts as unreachable. */
  connectTimeoutMs?: number;
}

/** Keys fetched per SCAN step and MGET: small enough to keep each reply short. */
const scanCount = 500;

export async function openRedisCooldownStore(options: RedisCooldownOptions): Promise<RedisCooldownStore> {
  const store = new RedisCooldownStore(options);
  await store.start();
  return store;
}

export class RedisCooldownStore implements CooldownStore {
  private readonly local: MemoryCooldownStore;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly keyPrefix: string;
  private readonly channel: string;
  private readonly onError: (error: unknown) => void;
  private readonly failClosed: boolean;
  /** Set on the first error of an outage, cleared on the next success: one report per outage. */
  private failing = false;
  private started = false;
  private closed = false;
  /** The resync in flight, so reconnects on both connections do not start two. */
  private syncing: Promise<void> | undefined;

  constructor(options: RedisCooldownOptions) {
    this.local = new MemoryCooldownStore(options.now);
    this.keyPrefix = `${options.prefix}cooldown:`;
    this.channel = `${options.prefix}cooldowns`;
    this.onError = options.onError;
    this.failClosed = options.failClosed;
    this.client = new Redis(options.url, {
      // Connect in start(), where a failure can be reported (or rejected, fail closed).
      lazyConnect: true,
      // Never queue for a Redis that is away: a cooldown that cannot be shared now is worth nothing later.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      commandTimeout: 1_000,
      // Reconnects back off to every 2 s; resync() catches up when one succeeds.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      // resync() subscribes itself, after every (re)connect, including one after a failed start.
      autoResubscribe: false,
    });
    this.client.defineCommand('sluiceExtendCooldown', { numberOfKeys: 1, lua: extendScript });
    this.subscriber = this.client.duplicate();
    // Without listeners ioredis prints every connection error to the console.
    this.client.on('error', this.reportError);
    this.subscriber.on('error', this.reportError);
    this.subscriber.on('message', this.onMessage);
    this.client.on('ready', this.onReady);
    this.subscriber.on('ready', this.onReady);
  }

  async start(): Promise<void> {
    try {
      await Promise.all([this.client.connect(), this.subscriber.connect()]);
      await this.resync();
    } catch (error) {
      if (this.failClosed) {
        await this.close();
        throw new Error(`state backend redis unreachable at start (state.on_error: closed)`, {
          cause: error,
        });
      }
      this.reportError(error);
    } finally {
      this.started = true;
    }
  }

  reachable(): boolean {
    return this.client.status === 'ready';
  }

  until(target: string): number {
    return this.local.until(target);
  }

  set(target: string, untilMs: number): void {
    const rounded = Math.ceil(untilMs);
    if (!this.local.extend(target, rounded)) return;
    // Offline, the command would only fail: skip it, resync() pushes the entry back on reconnect.
    if (this.client.status !== 'ready') return;
    this.share(target, rounded);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([closeStateClient(this.client), closeStateClient(this.subscriber)]);
    await this.local.close();
  }

  private share(target: string, untilMs: number): void {
    this.client
      .sluiceExtendCooldown(this.keyPrefix + target, String(untilMs), this.channel, target)
      .then(this.recovered, this.reportError);
  }

  /** Subscribe, load what Redis knows, push back what only this replica knows. */
  private resync(): Promise<void> {
    this.syncing ??= this.subscribeAndLoad().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async subscribeAndLoad(): Promise<void> {
    // Subscribe before loading: a cooldown published in between is then heard, not lost.
    await this.subscriber.subscribe(this.channel);
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(
        cursor,
        'MATCH',
        `${escapeGlob(this.keyPrefix)}*`,
        'COUNT',
        scanCount,
      );
      cursor = next;
      if (keys.length === 0) continue;
      const values = await this.client.mget(keys);
      for (let i = 0; i < keys.length; i++) {
        const untilMs = Number(values[i]);
        if (values[i] != null && Number.isFinite(untilMs)) {
          this.local.extend((keys[i] as string).slice(this.keyPrefix.length), untilMs);
        }
      }
    } while (cursor !== '0');
    for (const [target, untilMs] of this.local.entries()) this.share(target, untilMs);
    this.recovered();
  }

  private readonly onReady = (): void => {
    // The first connect is start()'s to handle; later ones are reconnects after an outage.
    if (!this.started || this.closed) return;
    if (this.client.status !== 'ready' || this.subscriber.status !== 'ready') return;
    this.resync().catch(this.reportError);
  };

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel) return;
    const cooldown = parseCooldownMessage(message);
    if (cooldown !== undefined) this.local.extend(cooldown.target, cooldown.untilMs);
  };

  private readonly recovered = (): void => {
    this.failing = false;
  };

  private readonly reportError = (error: unknown): void => {
    if (this.failing || this.closed) return;
    this.failing = true;
    this.onError(error);
  };
}

/** `"<untilMs> <target>"`: the number first, so a target name may hold any character, spaces included. */
export function parseCooldownMessage(message: string): { target: string; untilMs: number } | undefined {
  const space = message.indexOf(' ');
  if (space <= 0) return undefined;
  const untilMs = Number(message.slice(0, space));
  if (!Number.isFinite(untilMs)) return undefined;
  return { target: message.slice(space + 1), untilMs };
}

/** A prefix used in SCAN MATCH must match itself only: escape Redis glob metacharacters. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
