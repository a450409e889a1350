import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, redactedPaths } from './logger.js';

function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line) => lines.push(line) };
}

test('credentials, headers and request content are redacted wherever a log object carries them', () => {
  const sink = capture();
  const logger = createLogger('trace', sink);
  logger.info(
    {
      authorization: 'Bearer sk-virtual-secret',
      api_key: 'sk-provider-secret',
      admin_key: 'sk-admin-secret',
      key: 'sk-key-secret',
      headers: { authorization: 'Bearer sk-header-secret', 'x-api-key': 'sk-xapi-secret', accept: '*/*' },
      req: { headers: { authorization: 'Bearer sk-req-secret', cookie: 'session=sk-cookie-secret' } },
      messages: [{ role: 'user', content: 'the prompt secret' }],
      body: { messages: [{ content: 'the body secret' }] },
      input: 'the embeddings secret',
      model: 'gpt-4o-mini',
    },
    'a line',
  );
  logger.flush();
  const line = sink.lines.join('');
  assert.ok(line.length > 0);
  assert.doesNotMatch(line, /secret/);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.equal(parsed['model'], 'gpt-4o-mini', 'other fields stay');
  assert.equal(parsed['authorization'], '[redacted]');
  assert.equal((parsed['headers'] as Record<string, unknown>)['accept'], '*/*');
});

test('no redaction path is a wildcard (they would make the redactor walk every field of every line)', () => {
  for (const path of redactedPaths) assert.ok(!path.includes('*'), path);
});

test('the default destination (stdout, buffered) writes every line whole, text beyond ASCII included', async () => {
  const { execFile } = await import('node:child_process');
  const script = `
    const { createLogger, flushLogsSync } = await import(${JSON.stringify(new URL('./logger.js', import.meta.url).href)});
    const logger = createLogger('info');
    for (let i = 0; i < 3000; i++) logger.info({ i, who: 'clé 鍵 🔑' }, 'line');
    flushLogsSync(logger);
  `;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], (error, out) =>
      error ? reject(error) : resolve(out),
    ),
  );
  const lines = stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3000);
  for (const [i, line] of lines.entries()) {
    const parsed = JSON.parse(line) as { i: number; who: string; msg: string };
    assert.equal(parsed.i, i);
    assert.equal(parsed.who, 'clé 鍵 🔑');
  }
});
