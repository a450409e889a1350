import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LedgerQueryError } from './ledger.js';
import { decodeCursor, encodeCursor, numberPlaceholders, requestsSql, spendSql } from './queries.js';

test('a cursor round-trips (ts, request_id), whatever the id holds', () => {
  for (const id of ['req-1', 'a"b,c', 'ü/+=', '']) {
    assert.deepEqual(decodeCursor(encodeCursor(1_767_225_600_000, id)), [1_767_225_600_000, id]);
  }
  assert.throws(() => decodeCursor('%%%'), LedgerQueryError);
});

test('filter values are parameters, never SQL text; NULL filters are IS NULL', () => {
  const sql = requestsSql({ filters: { key: "k'; DROP TABLE x; --", team: null, status: 500 }, limit: 5 });
  assert.ok(!sql.text.includes('DROP'));
  assert.match(sql.text, /team IS NULL/);
  assert.deepEqual(sql.values, ["k'; DROP TABLE x; --", 500, 6]);
});

test('spend: group_by maps to a fixed column; from/to win over the filters', () => {
  const sql = spendSql({ groupBy: 'key', from: 10, filters: { from: 5, to: 20 } });
  assert.match(sql.text, /^SELECT key_name AS grp/);
  assert.deepEqual(sql.values, [10, 20]);
});

test('placeholders are numbered for PostgreSQL', () => {
  assert.equal(numberPlaceholders('a = ? AND (b < ? OR c = ?)'), 'a = $1 AND (b < $2 OR c = $3)');
});
