import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const commandModule = fileURLToPath(new URL('./command.js', import.meta.url));

function run(args: string[]): ReturnType<typeof spawn> {
  const script = `import(${JSON.stringify(commandModule)}).then((m) => m.runSimulateCommand(${JSON.stringify(args)}))`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function output(stream: NodeJS.ReadableStream | null): Promise<string> {
  let text = '';
  for await (const chunk of stream ?? []) text += String(chunk);
  return text;
}

test('sluice simulate prints one ready line, serves, and exits 0 on SIGTERM', async () => {
  const child = run(['--port', '0', '--output-tokens', '3']);
  const stdout = output(child.stdout);
  const line = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('\n')) resolve(seen);
    });
    child.on('exit', () => reject(new Error('exited before listening')));
  });
  const match = /^sluice simulator listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(line);
  assert.ok(match, line);
  const response = await fetch(`${match[1]}/v1/models`);
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.equal(await stdout, line, 'exactly one line on stdout');
});

test('a bad flag prints the error to stderr and exits 2', async () => {
  const child = run(['--error-rate', '3']);
  const [stderr, [code]] = await Promise.all([output(child.stderr), once(child, 'exit')]);
  assert.equal(code, 2);
  assert.match(stderr, /--error-rate/);
});
