import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ConfigError, demoConfigPath, loadConfigFile, parseConfig } from './load.js';
import { configJsonSchema, configJsonSchemaPath } from './json-schema.js';

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

const minimal = `
providers:
  - { name: sim, kind: simulator }
models:
  - name: m
    targets: [{ provider: sim, model: x }]
`;

test('a minimal config gets its defaults', () => {
  const config = parseConfig(minimal, {});
  assert.equal(config.server.port, 8080);
  assert.equal(config.server.max_body_bytes, 10 * 1024 * 1024);
  assert.equal(config.providers[0]?.timeouts.ttft_ms, 30_000);
  assert.equal(config.models[0]?.targets[0]?.weight, 1);
  assert.equal(config.state.backend, 'memory');
  assert.deepEqual(config.keys, []);
});

test('every problem is reported with its path', () => {
  const problems = problemsOf(`
providers:
  - { name: sim, kind: simulator }
  - { name: bad, kind: nonsense }
models:
  - name: a
    targets: [{ provider: sim, model: x }]
  - name: b
    targets: [{ provider: x, model: y, weight: -1 }]
    fallbacks: [nope]
server: { port: "eighty", colour: blue }
`);
  assert.ok(problems.includes('models[1].targets[0].provider: unknown provider "x"'), problems.join('\n'));
  assert.ok(
    problems.some((p) => p.startsWith('models[1].targets[0].weight:')),
    problems.join('\n'),
  );
  assert.ok(problems.includes('models[1].fallbacks[0]: unknown model "nope"'), problems.join('\n'));
  assert.ok(
    problems.some((p) => p.startsWith('providers[1].kind: unknown provider kind "nonsense"')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('server.port:')),
    problems.join('\n'),
  );
  assert.ok(problems.includes('server.colour: unknown field'), problems.join('\n'));
});

test('cross-reference problems are found even when the shape is fine', () => {
  const problems = problemsOf(`
providers: [{ name: sim, kind: simulator }, { name: sim, kind: simulator }]
models:
  - { name: m, targets: [{ provider: sim, model: x }], fallbacks: [m] }
keys:
  - { name: k1, key: secret-one-1234, models: [ghost] }
  - { name: k2, key: secret-one-1234 }
`);
  assert.ok(problems.includes('providers[1].name: duplicate name "sim"'), problems.join('\n'));
  assert.ok(
    problems.includes('models[0].fallbacks[0]: a model cannot fall back to itself'),
    problems.join('\n'),
  );
  assert.ok(problems.includes('keys[0].models[0]: unknown model "ghost"'), problems.join('\n'));
  assert.ok(problems.includes('keys[1].key: the same secret is used by another key'), problems.join('\n'));
});

test('${ENV} is replaced from the environment; a missing one is an error with its path', () => {
  const text = `
server:
  port: \${PORT}
  admin_key: \${ADMIN}
providers:
  - name: up
    kind: openai-compatible
    base_url: http://\${HOST}/v1
    api_key: \${MISSING_KEY}
models: [{ name: m, targets: [{ provider: up, model: x }] }]
`;
  const problems = problemsOf(text, { PORT: '9000', ADMIN: 'a: b # not yaml', HOST: 'h:1' });
  assert.deepEqual(problems, ['providers[0].api_key: environment variable MISSING_KEY is not set']);
  const config = parseConfig(text, { PORT: '9000', ADMIN: 'a: b # not yaml', HOST: 'h:1', MISSING_KEY: 'k' });
  assert.equal(config.server.port, 9000);
  assert.equal(config.server.admin_key, 'a: b # not yaml');
  assert.equal(config.providers[0]?.base_url, 'http://h:1/v1');
  assert.equal(
    parseConfig(
      minimal.replace('name: m', () => 'name: "$${LITERAL}"'),
      {},
    ).models[0]?.name,
    '${LITERAL}',
  );
});

test('a whole ${VAR} is typed for numbers but stays text where the schema wants a string', () => {
  const text = `
server:
  port: \${PORT}
providers:
  - name: up
    kind: openai-compatible
    base_url: http://127.0.0.1:9/v1
    api_key: "\${NUMERIC_KEY}"
models: [{ name: m, targets: [{ provider: up, model: x }] }]
keys:
  - name: k
    key: \${NUMERIC_SECRET}
`;
  const config = parseConfig(text, { PORT: '9001', NUMERIC_KEY: '12345', NUMERIC_SECRET: '1234567890' });
  assert.equal(config.server.port, 9001);
  assert.equal(config.providers[0]?.api_key, '12345');
  assert.equal(config.keys[0]?.key, '1234567890');
});

test('every provider kind of the contract is accepted; azure and openai-compatible need a base_url', () => {
  const kinds = ['openai', 'azure', 'anthropic', 'gemini', 'bedrock', 'cohere', 'mistral', 'simulator'];
  const accepted = problemsOf(`
providers:
${kinds.map((kind) => `  - { name: p-${kind}, kind: ${kind}, base_url: "https://example.com" }`).join('\n')}
models: [{ name: m, targets: [{ provider: p-openai, model: x }] }]
`);
  assert.deepEqual(accepted, []);
  const refused = problemsOf(`
providers: [{ name: a, kind: azure }, { name: b, kind: openai-compatible }, { name: c, kind: claude }]
models: [{ name: m, targets: [{ provider: a, model: x }] }]
`);
  assert.deepEqual(refused, [
    'providers[0].base_url: required for kind "azure"',
    'providers[1].base_url: required for kind "openai-compatible"',
    'providers[2].kind: unknown provider kind "claude" (expected one of: openai, openai-compatible, azure, anthropic, gemini, bedrock, cohere, mistral, simulator)',
  ]);
});

test('YAML syntax errors and missing files are ConfigErrors, not crashes', async () => {
  assert.ok(problemsOf('providers: [').some((p) => p.startsWith('yaml:')));
  assert.deepEqual(problemsOf('- a list'), ['(root): expected a mapping']);
  await assert.rejects(loadConfigFile('/nonexistent/sluice.yaml', {}), (error: unknown) => {
    return error instanceof ConfigError && error.problems[0] === '(file): file not found';
  });
});

test('the demo config is valid and needs no environment', async () => {
  const config = await loadConfigFile(demoConfigPath, {});
  assert.ok(config.models.some((m) => m.name === 'gpt-4o-mini'));
  assert.equal(config.keys.length, 0);
});

test('the published JSON Schema is the one the zod schema generates (run `npm run schema`)', async () => {
  const published: unknown = JSON.parse(await readFile(configJsonSchemaPath, 'utf8'));
  assert.deepEqual(published, configJsonSchema());
});
