import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry, type RegistryContentType } from 'prom-client';
import { TalliedHistogram } from './tallied-histogram.js';

const buckets = [0.01, 0.1, 1];
const values = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 30, 0];

/** The same observations through prom-client's Histogram and through TalliedHistogram. */
async function both(contentType: RegistryContentType): Promise<{ theirs: string; ours: string }> {
  const theirRegistry = new Registry<RegistryContentType>();
  theirRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const theirs = new Histogram({
    name: 'x_seconds',
    help: 'x',
    labelNames: ['route', 'model'],
    buckets,
    registers: [theirRegistry as never],
    enableExemplars: true,
  });
  const ourRegistry = new Registry<RegistryContentType>();
  const ours = new TalliedHistogram({
    name: 'x_seconds',
    help: 'x',
    labelNames: ['route', 'model'],
    buckets,
    registers: [ourRegistry],
  });
  for (const [i, value] of values.entries()) {
    const labels = { route: 'chat', model: i % 2 === 0 ? 'a' : 'b"\\' };
    theirs.observe({ labels, value, exemplarLabels: { trace_id: `t${i}` } as never });
    ours.seriesOf(labels).observeWithTrace(value, `t${i}`);
  }
  theirRegistry.setContentType(contentType);
  ourRegistry.setContentType(contentType);
  // Exemplar timestamps differ by the moment of observation; compare the rest of each line.
  const clean = (text: string) => text.replace(/ \d+(\.\d+)?$/gm, (m) => (/\./.test(m) ? ' T' : m));
  return { theirs: clean(await theirRegistry.metrics()), ours: clean(await ourRegistry.metrics()) };
}

test('renders what prom-client renders for the same observations, in the Prometheus format', async () => {
  const { theirs, ours } = await both(Registry.PROMETHEUS_CONTENT_TYPE);
  assert.equal(ours, theirs);
  assert.match(ours, /x_seconds_bucket\{le="\+Inf",route="chat",model="a"\} 5/);
});

test('and in OpenMetrics, with each bucket carrying its latest exemplar', async () => {
  const { theirs, ours } = await both(Registry.OPENMETRICS_CONTENT_TYPE);
  assert.equal(ours, theirs);
  assert.match(ours, /x_seconds_bucket\{le="0.01",route="chat",model="a"\} 2 # \{trace_id="t8"\} 0 T/);
});

test('JSON values carry le among the labels; reset zeroes series that callers still hold', async () => {
  const registry = new Registry();
  const h = new TalliedHistogram({
    name: 'y',
    help: 'y',
    labelNames: ['a'],
    buckets: [1],
    registers: [registry],
  });
  const series = h.seriesOf({ a: 'one' });
  series.observe(0.5);
  series.observe(3);
  const [json] = await registry.getMetricsAsJSON();
  assert.deepEqual(
    json?.values.map((v) => [v.labels, v.value]),
    [
      [{ a: 'one', le: 1 }, 1],
      [{ a: 'one', le: '+Inf' }, 2],
      [{ a: 'one' }, 3.5],
      [{ a: 'one' }, 2],
    ],
  );
  registry.resetMetrics();
  series.observe(0.25);
  assert.match(await registry.metrics(), /y_count\{a="one"\} 1\n/);
  assert.equal(h.seriesOf({ a: 'one' }), series);
});

test('refuses label sets that do not match the label names', () => {
  const h = new TalliedHistogram({ name: 'z', help: 'z', labelNames: ['a'], buckets: [1], registers: [] });
  assert.throws(() => h.seriesOf({}), /label a is missing/);
  assert.throws(() => h.seriesOf({ a: '1', b: '2' }), /exactly a/);
});
