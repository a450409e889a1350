import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shareOf } from './failover-limiter.js';

test("a replica's share divides rates exactly and concurrency down, never below one slot", () => {
  assert.deepEqual(shareOf({ key: 'key:a', rpm: 100, tpm: 1000, concurrency: 10 }, 3), {
    key: 'key:a',
    rpm: 100 / 3,
    tpm: 1000 / 3,
    concurrency: 3,
  });
  assert.deepEqual(shareOf({ key: 'team:t', concurrency: 2 }, 5), { key: 'team:t', concurrency: 1 });
  assert.deepEqual(shareOf({ key: 'model:m', rpm: 7 }, 1), { key: 'model:m', rpm: 7 });
});
