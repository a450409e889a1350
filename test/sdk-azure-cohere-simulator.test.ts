/**
 * Fidelity of the simulator's Azure paths and Cohere format, proven with the official SDKs pointed at it:
 * openai's AzureOpenAI client (deployment paths, api-version, api-key) and cohere-ai's CohereClientV2.
 * If an SDK accepts what the simulator sends, the adapters tested against the simulator meet the real shape.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CohereClientV2, CohereError } from 'cohere-ai';
import OpenAI, { AzureOpenAI, APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';

const azureKey = 'azure-resource-key-0001';
const cohereKey = 'cohere-key-0001';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
      required: ['city', 'days'],
    },
  },
};

describe('AzureOpenAI SDK against the simulator', () => {
  let sim: SimulatorHandle;
  let client: AzureOpenAI;

  before(async () => {
    sim = await startSimulator({ port: 0, apiKey: azureKey, outputTokens: 6, recordRequests: true });
    client = new AzureOpenAI({
      endpoint: sim.url,
      apiKey: azureKey,
      apiVersion: '2024-10-21',
      deployment: 'my-gpt4o',
      maxRetries: 0,
    });
  });
  after(() => sim.close());

  test('chat on the deployment path, with the api-version and the api-key header', async () => {
    const answer = await client.chat.completions.create({
      model: 'ignored-by-azure',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    assert.equal(answer.usage?.completion_tokens, 6);
    const recorded = sim.stats.lastRequest;
    assert.equal(recorded?.url, '/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21');
    assert.equal(recorded?.headers['api-key'], azureKey);
  });

  test('streamed tool calls assemble into arguments that satisfy the schema', async () => {
    const stream = await client.chat.completions.create({
      model: 'my-gpt4o',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'required',
      stream: true,
      stream_options: { include_usage: true },
    });
    let args = '';
    let name = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      args += call?.function?.arguments ?? '';
      name = call?.function?.name ?? name;
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(name, 'get_weather');
    const parsed = JSON.parse(args) as { city: unknown; days: unknown };
    assert.equal(typeof parsed.city, 'string');
    assert.ok(Number.isInteger(parsed.days) && (parsed.days as number) >= 1);
    assert.equal(finish, 'tool_calls');
    assert.ok((usage?.completion_tokens ?? 0) > 0);
  });

  test('embeddings on the deployment path', async () => {
    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]?.embedding.length, 1536);
    assert.match(sim.stats.lastRequest?.url ?? '', /^\/openai\/deployments\/my-gpt4o\/embeddings\?/);
  });

  test('a wrong key is a 401 in Azure’s envelope', async () => {
    const wrong = new AzureOpenAI({
      endpoint: sim.url,
      apiKey: 'nope',
      apiVersion: '2024-10-21',
      deployment: 'my-gpt4o',
      maxRetries: 0,
    });
    await assert.rejects(
      wrong.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof APIError && error.status === 401 && /Access denied/.test(error.message),
    );
  });

  test('the v1 API takes the deployment as the model; a deployment path without api-version is 404', async () => {
    const v1 = new OpenAI({
      baseURL: `${sim.url}/openai/v1`,
      apiKey: 'unused',
      defaultHeaders: { 'api-key': azureKey },
      maxRetries: 0,
    });
    const answer = await v1.chat.completions.create({
      model: 'my-gpt4o',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    assert.equal(answer.model, 'my-gpt4o');
    assert.equal(sim.stats.lastRequest?.url, '/openai/v1/chat/completions');
    const response = await fetch(`${sim.url}/openai/deployments/d/chat/completions`, {
      method: 'POST',
      headers: { 'api-key': azureKey, 'content-type': 'application/json' },
      body: '{"messages":[{"role":"user","content":"x"}]}',
    });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: { code: '404', message: 'Resource not found' } });
  });
});

describe('cohere-ai SDK (CohereClientV2) against the simulator', () => {
  let sim: SimulatorHandle;
  let client: CohereClientV2;

  before(async () => {
    sim = await startSimulator({ port: 0, format: 'cohere', apiKey: cohereKey, outputTokens: 7 });
    client = new CohereClientV2({ token: cohereKey, environment: sim.url });
  });
  after(() => sim.close());

  test('chat: text content, finish reason and both usage figures', async () => {
    const answer = await client.chat({
      model: 'command-a-03-2025',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Tell me about LLMs' },
      ],
    });
    assert.equal(answer.finishReason, 'COMPLETE');
    const item = answer.message.content?.[0];
    assert.equal(item?.type, 'text');
    assert.equal((item as { text: string }).text.trim().split(' ').length, 7);
    assert.equal(answer.usage?.billedUnits?.outputTokens, 7);
    assert.ok((answer.usage?.tokens?.inputTokens ?? 0) > (answer.usage?.billedUnits?.inputTokens ?? 0));
  });

  test('max_tokens below the answer length ends with MAX_TOKENS', async () => {
    const answer = await client.chat({
      model: 'command-a-03-2025',
      messages: [{ role: 'user', content: 'Long story' }],
      maxTokens: 3,
    });
    assert.equal(answer.finishReason, 'MAX_TOKENS');
    assert.equal(answer.usage?.billedUnits?.outputTokens, 3);
  });

  test('chatStream: the events in order, the text equal to the non-stream answer', async () => {
    const request = {
      model: 'command-a-03-2025',
      messages: [{ role: 'user' as const, content: 'Same seed' }],
    };
    const whole = await client.chat(request);
    const types: string[] = [];
    let text = '';
    let finish: string | undefined;
    for await (const event of await client.chatStream(request)) {
      types.push(event.type);
      if (event.type === 'content-delta') text += event.delta?.message?.content?.text ?? '';
      if (event.type === 'message-end') finish = event.delta?.finishReason;
    }
    assert.equal(types[0], 'message-start');
    assert.equal(types[1], 'content-start');
    assert.deepEqual(types.slice(-2), ['content-end', 'message-end']);
    assert.equal(text, (whole.message.content?.[0] as { text: string }).text);
    assert.equal(finish, 'COMPLETE');
  });

  test('tool_choice REQUIRED: tool calls with schema-satisfying arguments, streamed and not', async () => {
    const request = {
      model: 'command-a-03-2025',
      messages: [{ role: 'user' as const, content: 'Weather?' }],
      tools: [weatherTool],
      toolChoice: 'REQUIRED' as const,
    };
    const answer = await client.chat(request);
    assert.equal(answer.finishReason, 'TOOL_CALL');
    const call = answer.message.toolCalls?.[0];
    assert.equal(call?.function?.name, 'get_weather');
    const parsed = JSON.parse(call?.function?.arguments ?? '') as { city: unknown; days: unknown };
    assert.equal(typeof parsed.city, 'string');
    assert.ok(typeof answer.message.toolPlan === 'string');

    let args = '';
    let id: string | undefined;
    for await (const event of await client.chatStream(request)) {
      if (event.type === 'tool-call-start') id = event.delta?.message?.toolCalls?.id;
      if (event.type === 'tool-call-delta')
        args += event.delta?.message?.toolCalls?.function?.arguments ?? '';
    }
    assert.equal(id, call?.id);
    assert.equal(args, call?.function?.arguments);
  });

  test('json_object with a schema answers JSON that satisfies it', async () => {
    const answer = await client.chat({
      model: 'command-a-03-2025',
      messages: [{ role: 'user', content: 'A person as JSON' }],
      responseFormat: {
        type: 'json_object',
        jsonSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      },
    });
    const parsed = JSON.parse((answer.message.content?.[0] as { text: string }).text) as { name: unknown };
    assert.equal(typeof parsed.name, 'string');
  });

  test('embed: float vectors per text, billed input tokens', async () => {
    const result = await client.embed({
      model: 'embed-v4.0',
      texts: ['hello', 'world'],
      inputType: 'search_document',
      embeddingTypes: ['float'],
      outputDimension: 256,
    });
    assert.equal(result.embeddings.float?.length, 2);
    assert.equal(result.embeddings.float?.[0]?.length, 256);
    assert.ok((result.meta?.billedUnits?.inputTokens ?? 0) > 0);
  });

  test('errors: a wrong token is 401, a bad request 400, both with Cohere’s message', async () => {
    const wrong = new CohereClientV2({ token: 'nope', environment: sim.url });
    await assert.rejects(
      wrong.chat({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof CohereError &&
        error.statusCode === 401 &&
        (error.body as { message?: string }).message === 'invalid api token',
    );
    await assert.rejects(
      client.chat({ model: 'command-a-03-2025', messages: [] }),
      (error: unknown) =>
        error instanceof CohereError &&
        error.statusCode === 400 &&
        /^invalid request: messages/.test((error.body as { message: string }).message),
    );
  });

  test('injected rate limits are 429 with Retry-After', async () => {
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 3 });
    try {
      const response = await fetch(`${sim.url}/v2/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cohereKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('retry-after'), '3');
      assert.equal(typeof ((await response.json()) as { message?: unknown }).message, 'string');
    } finally {
      sim.setOptions({ rateLimitRate: 0 });
    }
  });
});
