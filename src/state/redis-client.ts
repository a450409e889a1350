/**
 * The Redis connection every shared-state module uses (limits, budgets, idempotency, cooldowns): one
 * policy for a Redis that is away, in one place.
 *
 * - Connect in the owner's start(), where a failure can be reported or refused (`lazyConnect`).
 * - Never queue commands for a Redis that is away (`enableOfflineQueue: false`, one retry at most, a short
 *   command timeout): a decision that waits for Redis is worse than the caller's own policy (state.on_error,
 *   budgets' refusal), which it gets at once as a rejected command.
 * - Reconnect in the background, backing off to every 2 s; connection errors surface as rejected
 *   commands, so the 'error' event (which ioredis would otherwise print) is silenced.
 */
import { Redis } from 'ioredis';

export interface StateClientOptions {
  connectTimeoutMs?: number | undefined;
  commandTimeoutMs?: number | undefined;
}

export function createStateClient(url: string, options: StateClientOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  client.on('error', () => undefined);
  return client;
}

/** QUIT when connected (pending replies arrive first), else drop the connection. */
export async function closeStateClient(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: the connection went away meanwhile.
    }
  }
  client.disconnect();
}

/** Starts `store`, closing it again when the start fails (Redis unreachable). */
export async function openStarted<T extends { start(): Promise<void>; close(): Promise<void> }>(
  store: T,
): Promise<T> {
  try {
    await store.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
