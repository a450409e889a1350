import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newSpanId, newTraceId } from './random-ids.js';

test('ids are lowercase hex of the W3C lengths, and distinct across pool refills', () => {
  const traces = new Set<string>();
  const spans = new Set<string>();
  // Enough to refill the 4 KB pool many times over.
  for (let i = 0; i < 5_000; i++) {
    const t = newTraceId();
    const s = newSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    traces.add(t);
    spans.add(s);
  }
  assert.equal(traces.size, 5_000);
  assert.equal(spans.size, 5_000);
});

test('the low 56 bits of trace ids (what samplers read) are spread evenly', () => {
  let below = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (parseInt(newTraceId().slice(18), 16) < 2 ** 55) below++;
  // Half are expected below the midpoint; 5 standard deviations is about ±1.8%.
  assert.ok(Math.abs(below / n - 0.5) < 0.018, String(below / n));
});

test('trace ids start with the time in ms, so ids made later sort after earlier ones', () => {
  const now = Date.UTC(2026, 11, 2, 6, 0, 0, 123);
  const id = newTraceId(now);
  assert.equal(parseInt(id.slice(0, 12), 16), now);
  assert.ok(newTraceId(now + 1) > id);
  // Within one millisecond the random tail keeps ids distinct.
  assert.notEqual(newTraceId(now), id);
  assert.match(newTraceId(0), /^0{12}[0-9a-f]{20}$/);
});
