import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { geminiHttpError, parseGoogleError } from './errors.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../../test/fixtures/gemini/${name}`, import.meta.url));

test('429 RESOURCE_EXHAUSTED: rate limited, RetryInfo delay as Retry-After (rounded up)', () => {
  const error = geminiHttpError('gem', 429, {}, fixture('error-rate-limited.json'));
  assert.equal(error.kind, 'upstream_rate_limited');
  assert.equal(error.retryAfterSeconds, 39);
  assert.match(error.message, /exceeded your current quota/);
});

test('a Retry-After header wins over the body', () => {
  const error = geminiHttpError('gem', 429, { 'retry-after': '3' }, fixture('error-rate-limited.json'));
  assert.equal(error.retryAfterSeconds, 3);
});

test('an invalid API key (400 API_KEY_INVALID) is the gateway credential failing: 502, no upstream text', () => {
  const error = geminiHttpError('gem', 400, {}, fixture('error-invalid-key.json'));
  assert.equal(error.kind, 'upstream_auth_failed');
  assert.doesNotMatch(error.message, /API key not valid/);
});

test("other 400s keep Google's message; 503 is overloaded; 500 an upstream error", () => {
  const bad = geminiHttpError('gem', 400, {}, fixture('error-bad-request.json'));
  assert.equal(bad.kind, 'upstream_bad_request');
  assert.match(bad.message, /contents\.parts must not be empty/);
  const body = Buffer.from(
    '{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}',
  );
  assert.equal(geminiHttpError('gem', 503, {}, body).kind, 'upstream_overloaded');
  assert.equal(geminiHttpError('gem', 500, {}, Buffer.from('<html>oops</html>')).kind, 'upstream_error');
});

test('the array-wrapped envelope of a JSON-array stream is read too', () => {
  assert.deepEqual(parseGoogleError([{ error: { code: 400, message: 'm', status: 'INVALID_ARGUMENT' } }]), {
    code: 400,
    message: 'm',
    status: 'INVALID_ARGUMENT',
  });
  assert.deepEqual(parseGoogleError('nope'), {});
});
