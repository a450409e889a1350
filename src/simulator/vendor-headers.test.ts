import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulator } from './test-helpers.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OPENAI_ONLY = ['openai-version', 'openai-processing-ms', 'x-request-id'];

interface Case {
  name: string;
  path: string;
  body: unknown;
  headers?: Record<string, string>;
  /** Header → the pattern its one value matches. */
  expect: Record<string, RegExp>;
  /** Headers this provider never sends. */
  absent: string[];
}

const hello = 'Hello';
const cases: Case[] = [
  {
    name: 'openai',
    path: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: hello }] },
    expect: {
      'x-request-id': /^req_[0-9a-f]+$/,
      'openai-processing-ms': /^\d+$/,
      'openai-version': /^2020-10-01$/,
    },
    absent: ['request-id', 'apim-request-id'],
  },
  {
    name: 'azure',
    path: '/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21',
    body: { messages: [{ role: 'user', content: hello }] },
    expect: { 'apim-request-id': uuid, 'x-request-id': uuid, 'openai-processing-ms': /^\d+$/ },
    absent: ['openai-version'],
  },
  {
    name: 'anthropic',
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: hello }] },
    headers: { 'anthropic-version': '2023-06-01' },
    expect: { 'request-id': /^req_[0-9a-f]+$/ },
    absent: OPENAI_ONLY,
  },
  {
    name: 'anthropic stream',
    path: '/v1/messages',
    body: {
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      stream: true,
      messages: [{ role: 'user', content: hello }],
    },
    headers: { 'anthropic-version': '2023-06-01' },
    expect: { 'request-id': /^req_[0-9a-f]+$/ },
    absent: OPENAI_ONLY,
  },
  {
    name: 'anthropic error',
    path: '/v1/messages',
    body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: hello }] },
    headers: { 'anthropic-version': '2023-06-01' },
    expect: { 'request-id': /^req_[0-9a-f]+$/ },
    absent: OPENAI_ONLY,
  },
  {
    name: 'bedrock',
    path: '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse',
    body: { messages: [{ role: 'user', content: [{ text: hello }] }] },
    expect: { 'x-amzn-requestid': uuid },
    absent: OPENAI_ONLY,
  },
  {
    name: 'bedrock stream',
    path: '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream',
    body: { messages: [{ role: 'user', content: [{ text: hello }] }] },
    expect: { 'x-amzn-requestid': uuid },
    absent: OPENAI_ONLY,
  },
  {
    name: 'bedrock error',
    path: '/model/x/unknown',
    body: {},
    expect: { 'x-amzn-requestid': uuid, 'x-amzn-errortype': /^UnknownOperationException$/ },
    absent: OPENAI_ONLY,
  },
  {
    name: 'gemini',
    path: '/v1beta/models/gemini-2.5-flash:generateContent',
    body: { contents: [{ role: 'user', parts: [{ text: hello }] }] },
    expect: { 'server-timing': /^gfet4t7; dur=\d+$/ },
    absent: [...OPENAI_ONLY, 'request-id'],
  },
  {
    name: 'cohere',
    path: '/v2/chat',
    body: { model: 'command-a-03-2025', messages: [{ role: 'user', content: hello }] },
    expect: { 'x-debug-trace-id': /^[0-9a-f]{32}$/, 'x-envoy-upstream-service-time': /^\d+$/ },
    absent: OPENAI_ONLY,
  },
];

test("each format answers with its own provider's headers, once, and OpenAI's are not mixed in", async (t) => {
  // --format all: every format on one server, so an exchange's headers depend on who claimed it.
  const { sim } = await simulator(t, { format: 'all', outputTokens: 3 });
  // OpenAI again last: a format that declined the path leaves no trace on the next exchange.
  for (const c of [...cases, { ...(cases[0] as Case), name: 'openai after the others' }]) {
    const response = await fetch(sim.url + c.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...c.headers },
      body: JSON.stringify(c.body),
    });
    await response.arrayBuffer();
    for (const [name, pattern] of Object.entries(c.expect)) {
      // A header sent twice would read as "a, b" and fail the pattern.
      assert.match(response.headers.get(name) ?? '', pattern, `${c.name}: ${name}`);
    }
    for (const name of c.absent) assert.equal(response.headers.get(name), null, `${c.name}: ${name}`);
  }
});
