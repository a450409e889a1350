/**
 * Whether the machine's Redis (127.0.0.1:6379) answers, for the suites that need a real one: they are
 * skipped locally without it, and fail in CI, where `.ci/run` starts one.
 */
import { connect } from 'node:net';

export const redisUrl = 'redis://127.0.0.1:6379/0';

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(6379, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

export const haveRedis = await redisAnswers();

/** A `skip` option for node:test: false when Redis answers or in CI, else the reason. */
export const skipWithoutRedis: string | false =
  haveRedis || process.env['CI'] === 'true' ? false : 'no Redis at 127.0.0.1:6379';

/** Deletes every key under a test's own prefix (SCAN, so a shared Redis is never blocked). */
export async function deleteKeysWithPrefix(...prefixes: string[]): Promise<void> {
  if (!haveRedis) return;
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  try {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}
