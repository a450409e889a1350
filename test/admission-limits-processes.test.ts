/**
 * Three replicas, three Node processes each with its own RedisLimiter on one prefix, hitting one key at
 * the same moment: the limits hold across them as they do in one process, because every decision is one
 * Lua script that Redis runs alone. Needs Redis at 127.0.0.1:6379 (skipped locally without, fails in CI).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { skipWithoutRedis } from './helpers/redis.js';

const redisUrl = 'redis://127.0.0.1:6379/0';
const worker = fileURLToPath(new URL('./fixtures/admission/limiter-worker.js', import.meta.url));
const prefix = `{sluice-test-${randomUUID()}}:`;

const skip = skipWithoutRedis;

interface Replica {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<unknown>;
}

/** Starts one replica; `ready` resolves once its limiter is connected, `result` with its JSON line. */
function startReplica(job: object): Replica {
  const child = spawn(process.execPath, [worker, JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<unknown>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.startsWith('ready\n')) onReady();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = output.split('\n')[1];
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`replica exited ${code}: ${output}`));
    });
  });
  return { child, ready, result };
}

/** Starts three replicas, waits until all are connected, then releases them at once. */
async function runReplicas<T>(job: (index: number) => object): Promise<T[]> {
  const replicas = [0, 1, 2].map((index) => startReplica(job(index)));
  try {
    await Promise.all(replicas.map((r) => r.ready));
    for (const r of replicas) r.child.stdin?.end('go\n');
    return (await Promise.all(replicas.map((r) => r.result))) as T[];
  } finally {
    for (const r of replicas) if (r.child.exitCode === null) r.child.kill();
  }
}

describe('limits across three processes sharing Redis', { skip, timeout: 10_000 }, () => {
  after(async () => {
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix.replace(/[{}]/g, '\\$&')}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('rpm 100: exactly 100 of 1 000 concurrent requests are admitted', async () => {
    const results = await runReplicas<{ admitted: number }>((index) => ({
      mode: 'rpm',
      prefix,
      key: 'key:burst',
      rpm: 100,
      requests: index === 0 ? 334 : 333,
    }));
    assert.equal(
      results.reduce((sum, r) => sum + r.admitted, 0),
      100,
      JSON.stringify(results),
    );
  });

  test('tpm holds within one request reservation, with refunds from settle', async (t) => {
    const tpm = 6_000;
    const reservation = 300;
    const durationMs = 1_500;
    const started = Date.now();
    const results = await runReplicas<{ admissions: number; tokens: number }>(() => ({
      mode: 'tpm',
      prefix,
      key: 'key:tokens',
      tpm,
      reservation,
      workers: 20,
      durationMs,
    }));
    const elapsedMs = Date.now() - started;
    const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
    const admissions = results.reduce((sum, r) => sum + r.admissions, 0);
    t.diagnostic(`${admissions} admissions used ${tokens} tokens in ${elapsedMs} ms`);
    // What GCRA lets through in `elapsedMs`: one window's capacity plus what the elapsed time paid back.
    const bound = tpm + (tpm * elapsedMs) / 60_000;
    assert.ok(tokens <= bound + reservation, `${tokens} tokens used, bound ${bound} + ${reservation}`);
    // Refunds were reused: more admissions than the capacity holds reservations, and the capacity is
    // used up to within one reservation.
    assert.ok(admissions > tpm / reservation, `${admissions} admissions`);
    assert.ok(tokens >= tpm - reservation, `${tokens} tokens used of ${tpm}`);
  });
});
