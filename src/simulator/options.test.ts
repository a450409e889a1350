import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultSimulatorOptions, parseSimulatorFlags, validateSimulatorOptions } from './options.js';

test('no flags give the defaults', () => {
  assert.deepEqual(parseSimulatorFlags([]), defaultSimulatorOptions);
  assert.equal(defaultSimulatorOptions.port, 8090);
  assert.equal(defaultSimulatorOptions.host, '127.0.0.1');
  assert.equal(defaultSimulatorOptions.outputTokens, 16);
});

test('flags take `--flag value` and `--flag=value`', () => {
  const options = parseSimulatorFlags([
    '--port=0',
    '--host',
    '0.0.0.0',
    '--latency-ms',
    '25',
    '--latency-jitter-ms=5',
    '--ttft-ms',
    '100',
    '--tokens-per-second=50.5',
    '--output-tokens',
    '32',
    '--error-rate',
    '0.1',
    '--rate-limit-rate=0.2',
    '--retry-after',
    '3',
    '--stream-cut-rate',
    '0.05',
    '--seed',
    '-7',
    '--api-key',
    'sk-test',
    '--models',
    'a, b,c',
    '--format',
    'all',
  ]);
  assert.deepEqual(options, {
    ...defaultSimulatorOptions,
    port: 0,
    host: '0.0.0.0',
    latencyMs: 25,
    latencyJitterMs: 5,
    ttftMs: 100,
    tokensPerSecond: 50.5,
    outputTokens: 32,
    errorRate: 0.1,
    rateLimitRate: 0.2,
    retryAfterSeconds: 3,
    streamCutRate: 0.05,
    seed: -7,
    apiKey: 'sk-test',
    models: ['a', 'b', 'c'],
    format: 'all',
  });
});

test('bad flags throw errors that name the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--nope', '1'], /Unknown flag --nope/],
    [['--port', '70000'], /--port: "70000"/],
    [['--port', 'abc'], /--port/],
    [['--error-rate', '1.5'], /--error-rate: "1.5" \(expected a number from 0 to 1\)/],
    [['--rate-limit-rate=-0.1'], /--rate-limit-rate/],
    [['--output-tokens', '0'], /--output-tokens/],
    [['--output-tokens', '2.5'], /--output-tokens/],
    [['--latency-ms', ''], /--latency-ms/],
    [['--latency-ms'], /--latency-ms needs a value/],
    [['--seed', '--port', '1'], /--seed needs a value/],
    [['--models', 'a,,b'], /--models/],
    [['--format', 'xml'], /--format/],
    [['--overload-rate', '1.5'], /--overload-rate/],
    [['port', '1'], /Unexpected argument "port"/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseSimulatorFlags(argv), message, argv.join(' '));
  }
});

test('programmatic options are validated by name', () => {
  assert.throws(() => validateSimulatorOptions({ errorRate: 2 }), /errorRate/);
  assert.throws(() => validateSimulatorOptions({ format: 'xml' as never }), /format/);
  assert.equal(parseSimulatorFlags(['--format=gemini']).format, 'gemini');
  assert.doesNotThrow(() => validateSimulatorOptions({ apiKey: undefined, recordRequests: true }));
});

test('--max-concurrency takes a whole number >= 0, 0 meaning no limit', () => {
  assert.equal(defaultSimulatorOptions.maxConcurrency, 0);
  assert.equal(parseSimulatorFlags(['--max-concurrency', '16']).maxConcurrency, 16);
  assert.equal(parseSimulatorFlags(['--max-concurrency=0']).maxConcurrency, 0);
  for (const bad of ['-1', '2.5', 'many']) {
    assert.throws(() => parseSimulatorFlags(['--max-concurrency', bad]), /--max-concurrency/, bad);
  }
  assert.throws(() => validateSimulatorOptions({ maxConcurrency: -3 }), /maxConcurrency/);
});
