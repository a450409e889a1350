import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { ProviderConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { upstreamHttpError } from '../http/upstream-errors.js';
import { checkBedrockAuth } from '../../simulator/bedrock/auth.js';
import { encodeLabel, regionOf } from './adapter.js';
import { readBedrockError, remapBedrockError } from './errors.js';
import { fixture } from './fixtures.test-helper.js';
import { toConverseRequest } from './request.js';
import { chatResponseFromConverse } from './response.js';
import { createAuthorizer, resolveCredentials } from './signing.js';

const body = (extra: Record<string, unknown>): ChatRequestBody => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

const config = (extra: Partial<ProviderConfig>): ProviderConfig =>
  ({ name: 'br', kind: 'bedrock', ...extra }) as ProviderConfig;

test('request fixture: canonical request becomes the documented Converse body', () => {
  const { model, canonical, converse } = fixture<{
    model: string;
    canonical: ChatRequestBody;
    converse: unknown;
  }>('request-tools.json');
  assert.deepEqual(toConverseRequest(canonical, 'br', model), converse);
});

test('consecutive same-role messages merge; empty assistant turns are dropped', () => {
  const out = toConverseRequest(
    body({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: null },
        { role: 'user', content: 'c' },
      ],
    }),
    'br',
    'x',
  );
  assert.deepEqual(out['messages'], [
    { role: 'user', content: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] },
  ]);
});

test('structured output becomes outputConfig.textFormat with the schema as JSON text', () => {
  const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
  const out = toConverseRequest(
    body({ response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } } }),
    'br',
    'x',
  );
  assert.deepEqual(out['outputConfig'], {
    textFormat: {
      type: 'json_schema',
      structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'thing' } },
    },
  });
});

test('Nova ids take topK under inferenceConfig', () => {
  const out = toConverseRequest(body({ top_k: 5 }), 'br', 'us.amazon.nova-pro-v1:0');
  assert.deepEqual(out['additionalModelRequestFields'], { inferenceConfig: { topK: 5 } });
});

test('tool_choice none leaves the tools out, unless the conversation already holds tool calls', () => {
  const tools = [{ type: 'function', function: { name: 'f' } }];
  const out = toConverseRequest(body({ tools, tool_choice: 'none' }), 'br', 'x');
  assert.equal(out['toolConfig'], undefined);
  assert.throws(
    () =>
      toConverseRequest(
        body({
          tools,
          tool_choice: 'none',
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
            { role: 'tool', tool_call_id: 't', content: 'r' },
          ],
        }),
        'br',
        'x',
      ),
    (e: unknown) => e instanceof GatewayError && e.kind === 'unsupported_feature',
  );
});

test('what Converse cannot do is a 400 naming the feature and the provider', () => {
  const cases: Record<string, unknown>[] = [
    { n: 2 },
    { logprobs: true },
    { seed: 7 },
    { frequency_penalty: 0.5 },
    { response_format: { type: 'json_object' } },
    { tools: [{ type: 'function', function: { name: 'f' } }], parallel_tool_calls: false },
    { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] },
    {
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/tiff;base64,AAAA' } }] },
      ],
    },
  ];
  for (const extra of cases) {
    assert.throws(
      () => toConverseRequest(body(extra), 'br', 'x'),
      (e: unknown) =>
        e instanceof GatewayError && e.kind === 'unsupported_feature' && /provider br/.test(e.message),
      JSON.stringify(extra),
    );
  }
});

test('response fixture: text answer with cache reads counted into input tokens', () => {
  const response = chatResponseFromConverse(fixture('converse-text.json'), 'req-1', 'model-x', 'br');
  assert.equal(response.id, 'req-1');
  assert.equal(response.choices[0]?.text, 'Hello! How can I help you today?');
  assert.equal(response.choices[0]?.finishReason, 'stop');
  assert.deepEqual(response.usage, { inputTokens: 1512, outputTokens: 10, cachedInputTokens: 1500 });
});

test('response fixture: reasoning (signed and redacted), text and parallel tool calls', () => {
  const response = chatResponseFromConverse(fixture('converse-tool-use.json'), 'r', 'm', 'br');
  const choice = response.choices[0];
  assert.equal(choice?.finishReason, 'tool_calls');
  assert.equal(choice?.text, 'Let me check both cities.');
  assert.deepEqual(choice?.reasoning, [
    {
      text: 'The user wants the weather in Paris and Rome; I will call the tool twice.',
      signature: 'ErUBCkYIBRgCIkDx3Jm0c2lnbmF0dXJl',
    },
    { text: '', redacted: 'cmVkYWN0ZWQgdGhpbmtpbmc=' },
  ]);
  assert.deepEqual(
    choice?.toolCalls.map((c) => [c.id, c.name, JSON.parse(c.arguments)]),
    [
      ['tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', 'get_weather', { city: 'Paris', unit: 'celsius' }],
      ['tooluse_2nGkXfY3TKKwUZr6yQmB8w', 'get_weather', { city: 'Rome', unit: 'celsius' }],
    ],
  );
  assert.deepEqual(response.usage, { inputTokens: 1620, outputTokens: 96, cacheWriteInputTokens: 1200 });
});

test('error fixtures: throttling keeps its message, access denied hides it, 408 is a timeout', () => {
  const throttled = fixture<{ status: number; headers: Record<string, string>; body: unknown }>(
    'error-throttling.json',
  );
  const error = upstreamHttpError(
    'br',
    throttled.status,
    throttled.headers,
    Buffer.from(JSON.stringify(throttled.body)),
    readBedrockError,
  );
  assert.equal(error.kind, 'upstream_rate_limited');
  assert.equal(error.message, 'Too many requests, please wait before trying again.');
  const denied = fixture<{ status: number; headers: Record<string, string>; body: unknown }>(
    'error-access-denied.json',
  );
  assert.equal(
    readBedrockError(Buffer.from(JSON.stringify(denied.body))).message?.startsWith('User: arn:aws'),
    true,
  );
  const auth = upstreamHttpError(
    'br',
    denied.status,
    denied.headers,
    Buffer.from(JSON.stringify(denied.body)),
    readBedrockError,
  );
  assert.equal(auth.kind, 'upstream_auth_failed');
  assert.doesNotMatch(auth.message, /arn:aws/);
  const timeout = remapBedrockError(
    upstreamHttpError('br', 408, {}, Buffer.from('{"message":"Model timed out"}'), readBedrockError),
  );
  assert.equal((timeout as GatewayError).kind, 'upstream_timeout');
});

test('region: config, then base_url host, then AWS_REGION, then us-east-1', () => {
  assert.equal(regionOf(config({ region: 'eu-west-3' }), {}), 'eu-west-3');
  assert.equal(
    regionOf(config({ base_url: 'https://bedrock-runtime.ap-south-1.amazonaws.com' }), {}),
    'ap-south-1',
  );
  assert.equal(
    regionOf(config({ base_url: 'http://127.0.0.1:9' }), { AWS_REGION: 'us-west-2' }),
    'us-west-2',
  );
  assert.equal(regionOf(config({}), {}), 'us-east-1');
});

test('credentials: config keys, then api_key as Bearer, then the AWS environment', () => {
  assert.equal(
    resolveCredentials(config({ aws_access_key_id: 'A', aws_secret_access_key: 'S' }), {}).kind,
    'sigv4',
  );
  assert.deepEqual(
    resolveCredentials(config({ api_key: 'ABSK-x' }), { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' }),
    {
      kind: 'bearer',
      token: 'ABSK-x',
    },
  );
  assert.deepEqual(
    resolveCredentials(config({}), {
      AWS_ACCESS_KEY_ID: 'A',
      AWS_SECRET_ACCESS_KEY: 'S',
      AWS_SESSION_TOKEN: 'T',
    }),
    {
      kind: 'sigv4',
      accessKeyId: 'A',
      secretAccessKey: 'S',
      sessionToken: 'T',
    },
  );
  assert.equal(resolveCredentials(config({}), {}).kind, 'none');
});

test('no credentials: the request fails with upstream_auth_failed saying what to set', async () => {
  const authorize = createAuthorizer({ kind: 'none' }, 'us-east-1', 'br');
  await assert.rejects(authorize({ path: '/', headers: { host: 'h' }, body: '' }), (e: unknown) => {
    return (
      e instanceof GatewayError && e.kind === 'upstream_auth_failed' && /aws_access_key_id/.test(e.message)
    );
  });
});

test('the signature of an encoded model id path verifies against an independent SigV4 check', async () => {
  const authorize = createAuthorizer(
    { kind: 'sigv4', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI', sessionToken: 'tok' },
    'us-east-1',
    'br',
  );
  const path = `/model/${encodeLabel('arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude(x)')}/converse`;
  assert.match(path, /%3A.*%2F.*%28x%29/);
  const bodyText = '{"messages":[{"role":"user","content":[{"text":"héllo"}]}]}';
  const list = await authorize({
    path,
    headers: { host: '127.0.0.1:8080', 'content-type': 'application/json' },
    body: bodyText,
  });
  const headers: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) headers[list[i] as string] = list[i + 1] as string;
  assert.equal(headers['x-amz-security-token'], 'tok');
  const signed = {
    method: 'POST',
    rawPath: path,
    query: new URLSearchParams(),
    headers,
    body: Buffer.from(bodyText),
  };
  checkBedrockAuth(signed, 'wJalrXUtnFEMI');
  assert.throws(() => checkBedrockAuth(signed, 'other-secret'), /signature we calculated/);
  assert.throws(
    () => checkBedrockAuth({ ...signed, body: Buffer.from(bodyText + ' ') }, 'wJalrXUtnFEMI'),
    /signature/,
  );
});
