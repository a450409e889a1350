import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, parseTraceparent, readTracestate } from './trace-context.js';

const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
const parent = '00f067aa0ba902b7';

test('a valid version-00 traceparent: ids and the sampled flag', () => {
  assert.deepEqual(parseTraceparent(`00-${trace}-${parent}-01`), {
    traceId: trace,
    parentSpanId: parent,
    sampled: true,
  });
  assert.deepEqual(parseTraceparent(`00-${trace}-${parent}-00`), {
    traceId: trace,
    parentSpanId: parent,
    sampled: false,
  });
  // Only bit 0 is the sampled flag; other bits (level 2's random flag) do not make it sampled.
  assert.equal(parseTraceparent(`00-${trace}-${parent}-02`)?.sampled, false);
  assert.equal(parseTraceparent(`00-${trace}-${parent}-03`)?.sampled, true);
});

test('a higher version is read by its first four fields, as the spec asks', () => {
  assert.equal(parseTraceparent(`01-${trace}-${parent}-01`)?.traceId, trace);
  assert.equal(parseTraceparent(`cc-${trace}-${parent}-01-what-the-future-adds`)?.traceId, trace);
  assert.equal(parseTraceparent(`cc-${trace}-${parent}-01x`), undefined);
});

test('invalid values are refused whole', () => {
  for (const bad of [
    undefined,
    '',
    ['a', 'b'],
    `00-${trace}-${parent}-01-`,
    `00-${trace}-${parent}-1`,
    `ff-${trace}-${parent}-01`,
    `00-${'0'.repeat(32)}-${parent}-01`,
    `00-${trace}-${'0'.repeat(16)}-01`,
    `00-${trace.toUpperCase()}-${parent}-01`,
    `00-${trace}-${parent}-0G`,
    `00_${trace}-${parent}-01`,
    `0-${trace}0-${parent}-01`,
    `00-${trace}-${parent}-01, 00-${trace}-${parent}-01`,
  ])
    assert.equal(parseTraceparent(bad), undefined, String(bad));
});

test('tracestate: passed on as members, bounded as the spec bounds it', () => {
  assert.equal(readTracestate('vendor=abc, other=1'), 'vendor=abc,other=1');
  assert.equal(readTracestate(['a=1', 'b=2']), 'a=1,b=2');
  assert.equal(readTracestate(' , '), undefined);
  assert.equal(readTracestate(undefined), undefined);
  const many = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
  assert.equal(readTracestate(many), undefined);
  const long = Array.from({ length: 10 }, (_, i) => `k${i}=${'x'.repeat(60)}`).join(',');
  const kept = readTracestate(long) as string;
  assert.ok(kept.length <= 512);
  assert.ok(long.startsWith(kept) && kept.split(',').length === 8, 'whole members dropped from the end');
});

test('the traceparent an attempt sends', () => {
  assert.equal(formatTraceparent(trace, parent, true), `00-${trace}-${parent}-01`);
  assert.equal(formatTraceparent(trace, parent, false), `00-${trace}-${parent}-00`);
  assert.deepEqual(parseTraceparent(formatTraceparent(trace, parent, true)), {
    traceId: trace,
    parentSpanId: parent,
    sampled: true,
  });
});
