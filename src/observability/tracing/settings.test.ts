import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTracing, type TracingSettings } from './settings.js';

const config = { sample_ratio: 1 };

function settings(env: Record<string, string>, ratio = 1): TracingSettings {
  const resolved = resolveTracing({ sample_ratio: ratio }, env);
  assert.ok(resolved.export, resolved.export ? '' : resolved.reason);
  return resolved.settings;
}

test('no endpoint: no export (no SDK default of localhost:4318)', () => {
  const resolved = resolveTracing(config, {});
  assert.equal(resolved.export, false);
});

test('endpoints: the generic one gets /v1/traces, the traces one is used as is', () => {
  assert.equal(
    settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).url,
    'http://collector:4318/v1/traces',
  );
  assert.equal(
    settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).url,
    'http://collector:4318/v1/traces',
  );
  assert.equal(
    settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/custom',
    }).url,
    'https://traces.example/custom',
  );
});

test('protocol: http/protobuf by default, http/json on request, grpc refused with a reason', () => {
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
  assert.equal(settings(base).protocol, 'http/protobuf');
  assert.equal(settings({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol, 'http/json');
  assert.equal(
    settings({
      ...base,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    }).protocol,
    'http/protobuf',
  );
  const grpc = resolveTracing(config, { ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  assert.equal(grpc.export, false);
  assert.match(grpc.export ? '' : grpc.reason, /grpc/);
});

test('headers, service name, resource attributes, timeout, compression', () => {
  const s = settings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D,x-a=1',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
    OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,deployment.environment.name=prod',
    OTEL_SERVICE_NAME: 'gateway-eu',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
  });
  assert.deepEqual(s.headers, { 'api-key': 'abc=', 'x-a': '2' });
  assert.equal(s.serviceName, 'gateway-eu');
  assert.deepEqual(s.resourceAttributes, { 'deployment.environment.name': 'prod' });
  assert.equal(s.timeoutMs, 2500);
  assert.equal(s.compression, 'gzip');
  assert.equal(
    settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_RESOURCE_ATTRIBUTES: 'service.name=x' })
      .serviceName,
    'x',
  );
  assert.equal(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }).serviceName, 'sluice');
});

test('sampler: the config ratio parent-based by default; the environment wins', () => {
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
  assert.deepEqual(settings(base, 0.25).sampler, { root: 'traceidratio', ratio: 0.25, parentBased: true });
  assert.deepEqual(settings({ ...base, OTEL_TRACES_SAMPLER_ARG: '0.5' }, 0.25).sampler, {
    root: 'traceidratio',
    ratio: 0.5,
    parentBased: true,
  });
  assert.deepEqual(
    settings({ ...base, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).sampler,
    {
      root: 'traceidratio',
      ratio: 0.1,
      parentBased: false,
    },
  );
  assert.equal(settings({ ...base, OTEL_TRACES_SAMPLER: 'always_off' }).sampler.root, 'always_off');
  assert.deepEqual(settings({ ...base, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, 0).sampler, {
    root: 'always_on',
    ratio: 1,
    parentBased: true,
  });
  const bad = resolveTracing(config, { ...base, OTEL_TRACES_SAMPLER_ARG: '2' });
  assert.ok(bad.export && bad.settings.sampler.ratio === 1 && bad.warnings.length === 1);
});

test('switches that turn export off', () => {
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
  assert.equal(resolveTracing(config, { ...base, OTEL_SDK_DISABLED: 'true' }).export, false);
  assert.equal(resolveTracing(config, { ...base, OTEL_TRACES_EXPORTER: 'none' }).export, false);
  assert.equal(resolveTracing(config, { ...base, OTEL_TRACES_EXPORTER: 'otlp' }).export, true);
  assert.equal(resolveTracing(config, { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }).export, false);
});

test('batch processor settings, the batch never above the queue', () => {
  const s = settings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_BSP_MAX_QUEUE_SIZE: '64',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512',
  });
  assert.deepEqual(s.batch, {
    scheduledDelayMillis: 100,
    exportTimeoutMillis: 30_000,
    maxQueueSize: 64,
    maxExportBatchSize: 64,
  });
});
