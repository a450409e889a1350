import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateLimit, rateLimitPolicy } from './ratelimit-headers.js';

test('RateLimit-Policy lists each policy as a Structured Fields item', () => {
  assert.equal(
    rateLimitPolicy([
      { name: 'key-rpm', quota: 600, windowSeconds: 60 },
      { name: 'key-tpm', quota: 200_000, windowSeconds: 60, unit: 'tokens' },
      { name: 'key-concurrency', quota: 20, windowSeconds: 1, unit: 'concurrent-requests' },
    ]),
    '"key-rpm";q=600;w=60, "key-tpm";q=200000;w=60;qu="tokens", "key-concurrency";q=20;w=1;qu="concurrent-requests"',
  );
  assert.equal(rateLimitPolicy([]), '');
});

test('RateLimit gives what is left, with integer parameters rounded up and names escaped', () => {
  assert.equal(rateLimit({ name: 'team-rpm', remaining: 0, resetSeconds: 2.2 }), '"team-rpm";r=0;t=3');
  assert.equal(rateLimit({ name: 'a"b\\c\nd', remaining: -3, resetSeconds: 0 }), '"a\\"b\\\\cd";r=0;t=0');
});
