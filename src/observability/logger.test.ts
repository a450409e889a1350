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
