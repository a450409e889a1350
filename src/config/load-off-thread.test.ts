import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ConfigError } from './config-error.js';
import { demoConfigPath, loadConfigFile } from './load.js';
import { loadConfigOffThread } from './load-off-thread.js';

async function failure(load: Promise<unknown>): Promise<ConfigError> {
  const error = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
  return error;
}

test('the off-thread loader answers what the direct one does: a config, or the same problems', async () => {
  const env = { SLUICE_TEST_PORT: '9123' };
  assert.deepEqual(await loadConfigOffThread(demoConfigPath, env), await loadConfigFile(demoConfigPath, env));
  const dir = await mkdtemp(join(tmpdir(), 'sluice-load-'));
  try {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      'server: { port: ${SLUICE_TEST_PORT} }\nproviders:\n  - { name: p, kind: nope }\nmodels: [{ name: m, targets: [{ provider: q, model: x }] }]\n',
    );
    const off = await failure(loadConfigOffThread(bad, {}));
    const direct = await failure(loadConfigFile(bad, {}));
    assert.deepEqual(off.problems, direct.problems);
    assert.equal(off.message, direct.message);
    assert.ok(off.problems.length >= 3, off.message);
    const missing = await failure(loadConfigOffThread(join(dir, 'absent.yaml'), {}));
    assert.deepEqual(missing.problems, ['(file): file not found']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a serving gateway never loads yaml or zod on its own thread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-modules-'));
  try {
    // A module hook of the main thread only (workers have loaders of their own): it lists what loads.
    const listed = join(dir, 'loaded.txt');
    const hook = join(dir, 'hook.mjs');
    await writeFile(
      hook,
      `import { registerHooks } from 'node:module';\nimport { appendFileSync } from 'node:fs';\n` +
        `registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(listed)}, url + '\\n'); return next(url, context); } });\n`,
    );
    const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
    const child = spawn(process.execPath, ['--import', hook, cli, 'serve', '--port', '0'], {
      env: process.env,
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/sluice listening on /.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const urls = (await readFile(listed, 'utf8')).split('\n');
    assert.ok(
      urls.some((url) => url.endsWith('/dist/src/app.js')),
      'the hook saw the gateway load',
    );
    const config = urls.filter((url) => /\/node_modules\/(yaml|zod)\//.test(url));
    assert.deepEqual(config, [], 'yaml and zod stay on the loader thread');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
