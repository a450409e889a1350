/** The CLI as users run it: serve, simulate, check, and graceful shutdown on SIGTERM. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

interface Child {
  process: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  exited: Promise<number | null>;
}

function run(
  args: string[],
  env: Record<string, string> = {},
): { exited: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { exited: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr }))) };
}

/** Runs the CLI with this process's node, or (`asBin`) the package's bin by its shebang. */
async function startListening(args: string[], pattern: RegExp, asBin = false): Promise<Child> {
  const child = asBin
    ? spawn(bin, args, {
        env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH']}` },
      })
    : spawn(process.execPath, [cli, ...args], { env: process.env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${stderr}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = pattern.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.on('exit', () => reject(new Error(`exited early; stderr: ${stderr}`)));
  });
  return { process: child, url, stdout: () => stdout, exited };
}

describe('sluice CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('check reports every problem with its path and exits 1; serve refuses the same config', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(
      path,
      'providers: [{ name: p, kind: simulator }]\nmodels:\n  - { name: a, targets: [{ provider: p, model: x }] }\n  - { name: b, targets: [{ provider: x, model: y }] }\n',
    );
    const checked = await run(['check', '--config', path]).exited;
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /models\[1\]\.targets\[0\]\.provider: unknown provider "x"/);
    const served = await run(['serve', '--config', path, '--port', '0']).exited;
    assert.equal(served.code, 1);
    assert.match(served.stderr, /models\[1\]\.targets\[0\]\.provider: unknown provider "x"/);
    assert.doesNotMatch(served.stdout, /listening/);
  });

  test('check accepts a good config', async () => {
    const path = join(dir, 'good.yaml');
    await writeFile(
      path,
      'providers: [{ name: p, kind: simulator }]\nmodels: [{ name: a, targets: [{ provider: p, model: x }] }]\n',
    );
    const checked = await run(['check', '--config', path]).exited;
    assert.equal(checked.code, 0, checked.stderr);
  });

  test('serve with no config runs the demo, and a first request needs no key', async () => {
    const child = await startListening(['serve', '--port', '0'], /sluice listening on (http:\/\/\S+)/);
    try {
      const res = await fetch(`${child.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { object: string }).object, 'chat.completion');
    } finally {
      child.process.kill('SIGTERM');
      assert.equal(await child.exited, 0);
    }
  });

  test('SIGTERM lets an in-flight stream finish, refuses new work, then exits 0', async () => {
    const sim = await startListening(
      ['simulate', '--port', '0', '--tokens-per-second', '20', '--output-tokens', '20'],
      /sluice simulator listening on (http:\/\/\S+)/,
    );
    const path = join(dir, 'drain.yaml');
    await writeFile(
      path,
      `server: { shutdown_grace_ms: 5000 }\nproviders: [{ name: s, kind: openai-compatible, base_url: "${sim.url}/v1" }]\nmodels: [{ name: m, targets: [{ provider: s, model: m }] }]\n`,
    );
    const gateway = await startListening(
      ['serve', '--config', path, '--port', '0'],
      /sluice listening on (http:\/\/\S+)/,
    );
    try {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      await reader.read();
      gateway.process.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
      // New connections are refused once the listener closed.
      await assert.rejects(fetch(`${gateway.url}/healthz`));
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      assert.match(text, /data: \[DONE\]/, 'the in-flight stream finished');
      assert.equal(await gateway.exited, 0);
    } finally {
      gateway.process.kill('SIGKILL');
      sim.process.kill('SIGTERM');
      assert.equal(await sim.exited, 0);
    }
  });

  test(
    'the bin runs Node with the memory settings of its shebang',
    { skip: process.platform !== 'linux' },
    async () => {
      const sim = await startListening(
        ['simulate', '--port', '0'],
        /simulator listening on (http:\/\/\S+)/,
        true,
      );
      try {
        // env -S execs node in place: the child's pid is node's own.
        const pid = sim.process.pid as number;
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
        const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
        assert.ok(argv.includes('--max-semi-space-size=4'), argv.join(' '));
        assert.ok(environ.includes('MALLOC_MMAP_THRESHOLD_=32768'), 'the malloc threshold is set');
      } finally {
        sim.process.kill('SIGTERM');
        assert.equal(await sim.exited, 0);
      }
    },
  );

  test('npm start runs the bin with the same settings as its shebang', async () => {
    const root = new URL('../../', import.meta.url);
    const start = (
      JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { scripts: { start: string } }
    ).scripts.start;
    const shebang = (await readFile(new URL('bin/sluice.js', root), 'utf8')).split('\n', 1)[0] as string;
    // npm start spells them out (env NAME=VALUE node ...) for shells whose env has no -S (BusyBox).
    for (const setting of shebang.split(/\s+/).filter((word) => /^(--|[A-Z_]+=)/.test(word))) {
      assert.ok(start.includes(setting), `npm start lacks ${setting}: ${start}`);
    }
    assert.match(start, /node .*bin\/sluice\.js serve$/);
  });

  test('a SIGTERM sent the moment the listening line appears is a clean stop', async () => {
    for (const [args, line] of [
      [['simulate', '--port', '0'], /sluice simulator listening on /],
      [['serve', '--port', '0'], /sluice listening on /],
    ] as const) {
      const child = spawn(process.execPath, [cli, ...args], { env: process.env });
      let stdout = '';
      let signalled = false;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // Synchronously, in the same tick as the line: the handlers must already be in place.
        if (!signalled && line.test(stdout)) {
          signalled = true;
          child.kill('SIGTERM');
        }
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      assert.deepEqual([code, signal], [0, null], `${args[0]}: ${stdout}`);
    }
  });

  test('unknown commands and flags are usage errors', async () => {
    assert.equal((await run(['frobnicate']).exited).code, 2);
    assert.equal((await run(['serve', '--nope']).exited).code, 2);
    assert.equal((await run(['simulate', '--error-rate', '7']).exited).code, 2);
  });
});
