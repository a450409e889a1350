import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId } from './request-id.js';

test('request ids are version-7 UUIDs, ordered by time and unique', () => {
  const at = Date.UTC(2026, 11, 2, 3, 0, 0);
  const id = newRequestId(at);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  assert.ok(newRequestId(at) < newRequestId(at + 1));
  const many = new Set(Array.from({ length: 10_000 }, () => newRequestId(at)));
  assert.equal(many.size, 10_000);
});
