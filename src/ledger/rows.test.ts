import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleRow as base } from '../../test/helpers/ledger-rows.js';
import { maxRequestIdLength, maxTextLength, normalizeRow } from './rows.js';

test('absent optional fields become NULL (cached tokens 0); a Date becomes epoch ms', () => {
  const entry = normalizeRow({ ...base, ts: new Date(1_767_225_600_123.7) });
  assert.equal(entry.ts, 1_767_225_600_123);
  assert.equal(entry.team, null);
  assert.equal(entry.end_user, null);
  assert.equal(entry.ttft_ms, null);
  assert.equal(entry.cached_input_tokens, 0);
});

test('fractional durations are rounded; negative, NaN and out-of-range numbers are refused', () => {
  assert.equal(normalizeRow({ ...base, latency_ms: 12.5, ttft_ms: 3.2 }).latency_ms, 13);
  for (const bad of [-1, Number.NaN, Infinity]) {
    assert.throws(() => normalizeRow({ ...base, input_tokens: bad }), TypeError);
  }
  assert.throws(() => normalizeRow({ ...base, latency_ms: 2 ** 31 }), TypeError, 'INTEGER column');
  assert.throws(() => normalizeRow({ ...base, cost_usd: Number.NaN }), TypeError);
  assert.equal(normalizeRow({ ...base, cost_usd: -0.25 }).cost_usd, -0.25, 'a refund is a cost too');
  assert.throws(() => normalizeRow({ ...base, ts: new Date(Number.NaN) }), TypeError);
});

test('client-supplied text: NUL dropped, cut at the bound without splitting a surrogate pair', () => {
  assert.equal(normalizeRow({ ...base, end_user: 'a\u0000b' }).end_user, 'ab');
  const long = 'x'.repeat(maxTextLength - 1) + '😀' + 'tail';
  const cut = normalizeRow({ ...base, end_user: long }).end_user ?? '';
  assert.equal(cut.length, maxTextLength - 1);
  assert.ok(!/[\ud800-\udbff]$/.test(cut));
  assert.equal(normalizeRow({ ...base, end_user: 'y'.repeat(5_000) }).end_user?.length, maxTextLength);
});

test('request_id is refused, never cut: two ids cut to one would lose a request', () => {
  assert.throws(() => normalizeRow({ ...base, request_id: 'r'.repeat(maxRequestIdLength + 1) }), TypeError);
  assert.throws(() => normalizeRow({ ...base, request_id: '' }), TypeError);
  assert.equal(normalizeRow({ ...base, request_id: 'r'.repeat(maxRequestIdLength) }).request_id.length, 255);
});
