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
