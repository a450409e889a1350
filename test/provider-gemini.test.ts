/**
 * The gemini adapter end to end: the openai SDK → Sluice → `kind: gemini` → the simulator speaking the
 * Gemini API (and, for one provider, Vertex AI). What the simulator received is checked through
 * recordRequests, so the translation is tested in both directions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const appKey = 'sk-sluice-gemini-app-01';
const providerKey = 'AIza-provider-secret-123';

type Json = Record<string, unknown>;

describe('openai SDK through Sluice to a gemini provider', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: OpenAI;

  const sent = (): Json => sim.stats.lastRequest?.body as Json;

  before(async () => {
    sim = await startSimulator({
      port: 0,
      format: 'gemini',
      apiKey: providerKey,
      outputTokens: 12,
      recordRequests: true,
    });
    gateway = await startGateway({
      providers: [
        { name: 'gem', kind: 'gemini', base_url: sim.url, api_key: providerKey },
        { name: 'gem-badkey', kind: 'gemini', base_url: sim.url, api_key: 'wrong-key' },
        {
          name: 'vertex',
          kind: 'gemini',
          base_url: sim.url,
          api_key: providerKey,
          vertex: { project: 'proj-1', location: 'europe-west4' },
        },
      ],
      models: [
        { name: 'flash', targets: [{ provider: 'gem', model: 'models/gemini-2.5-flash' }] },
        { name: 'badkey', targets: [{ provider: 'gem-badkey', model: 'gemini-2.5-flash' }] },
        { name: 'vertex-flash', targets: [{ provider: 'vertex', model: 'gemini-2.5-flash' }] },
        { name: 'embed', targets: [{ provider: 'gem', model: 'gemini-embedding-001' }] },
        { name: 'vertex-embed', targets: [{ provider: 'vertex', model: 'text-embedding-005' }] },
      ],
      keys: [{ name: 'app', key: appKey }],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('non-stream text with a system prompt: systemInstruction, contents, usage', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'flash',
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: 'Hello there' },
        ],
        temperature: 0.2,
        top_p: 0.9,
        seed: 7,
      })
      .withResponse();
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.equal((data.choices[0]?.message.content ?? '').trim().split(' ').length, 12);
    assert.equal(data.usage?.completion_tokens, 12);
    assert.ok((data.usage?.prompt_tokens ?? 0) > 0);
    assert.equal(response.headers.get('x-sluice-provider'), 'gem');
    const request = sim.stats.lastRequest;
    assert.equal(request?.url, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(request?.headers['x-goog-api-key'], providerKey);
    assert.equal(request?.headers['authorization'], undefined);
    assert.deepEqual(sent()['systemInstruction'], { parts: [{ text: 'Be terse.' }] });
    assert.deepEqual(sent()['contents'], [{ role: 'user', parts: [{ text: 'Hello there' }] }]);
    assert.deepEqual(sent()['generationConfig'], { temperature: 0.2, topP: 0.9, seed: 7 });
  });

  test('streaming text arrives as deltas, ends with stop and usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let deltas = 0;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) {
        deltas++;
        text += content;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(deltas, 12);
    assert.equal(text.trim().split(' ').length, 12);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 12);
    assert.match(sim.stats.lastRequest?.url ?? '', /:streamGenerateContent\?alt=sse$/);
  });

  test('multi-turn: assistant becomes model, consecutive user turns merge', async () => {
    await client.chat.completions.create({
      model: 'flash',
      messages: [
        { role: 'user', content: 'One' },
        { role: 'assistant', content: 'Two' },
        { role: 'user', content: 'Three' },
        { role: 'user', content: [{ type: 'text', text: 'Four' }] },
      ],
    });
    assert.deepEqual(sent()['contents'], [
      { role: 'user', parts: [{ text: 'One' }] },
      { role: 'model', parts: [{ text: 'Two' }] },
      { role: 'user', parts: [{ text: 'Three' }, { text: 'Four' }] },
    ]);
  });

  const tools: OpenAI.Chat.ChatCompletionTool[] = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: {
          $schema: 'http://json-schema.org/draft-07/schema#',
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
          additionalProperties: false,
        },
      },
    },
    {
      type: 'function',
      function: {
        name: 'get_time',
        parameters: { type: 'object', properties: { zone: { type: 'string' } } },
      },
    },
  ];

  test('required tool choice: parallel calls with ids, and the declarations as sent', async () => {
    const data = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
      tools,
      tool_choice: 'required',
    });
    const choice = data.choices[0];
    assert.equal(choice?.finish_reason, 'tool_calls');
    const calls = (choice?.message.tool_calls ?? []) as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    assert.deepEqual(
      calls.map((c) => c.function.name),
      ['get_weather', 'get_time'],
    );
    assert.equal(new Set(calls.map((c) => c.id)).size, 2);
    assert.equal(typeof (JSON.parse(calls[0]?.function.arguments ?? '{}') as Json)['city'], 'string');
    const declarations = (sent()['tools'] as Json[])[0]?.['functionDeclarations'] as Json[];
    assert.deepEqual(declarations[0], {
      name: 'get_weather',
      description: 'Weather for a city',
      // $schema removed; the rest of the JSON Schema passes as parametersJsonSchema.
      parametersJsonSchema: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
        additionalProperties: false,
      },
    });
    assert.deepEqual(sent()['toolConfig'], { functionCallingConfig: { mode: 'ANY' } });
  });

  test('a named tool choice and parallel_tool_calls: false keep to one call', async () => {
    const named = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Time?' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.deepEqual(
      named.choices[0]?.message.tool_calls?.map(
        (c) => (c as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function.name,
      ),
      ['get_time'],
    );
    assert.deepEqual(sent()['toolConfig'], {
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] },
    });
    const single = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Both?' }],
      tools,
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    assert.equal(single.choices[0]?.message.tool_calls?.length, 1);
  });

  test('streamed tool calls: one delta per call with id, name and whole arguments', async () => {
    const stream = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Weather and time?' }],
      tools,
      tool_choice: 'required',
      stream: true,
    });
    const calls = new Map<number, { id?: string; name?: string; args: string }>();
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        const call = calls.get(delta.index) ?? { args: '' };
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.name = delta.function.name;
        call.args += delta.function?.arguments ?? '';
        calls.set(delta.index, call);
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(
      [...calls.values()].map((c) => c.name),
      ['get_weather', 'get_time'],
    );
    assert.ok([...calls.values()].every((c) => c.id !== undefined && JSON.parse(c.args) !== null));
  });

  test('tool results round trip: functionCall in the model turn, functionResponse by name in one user turn', async () => {
    const first = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Weather and time?' }],
      tools,
      tool_choice: 'required',
    });
    const message = first.choices[0]?.message as OpenAI.Chat.ChatCompletionMessage;
    const calls = (message.tool_calls ?? []) as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    const second = await client.chat.completions.create({
      model: 'flash',
      messages: [
        { role: 'user', content: 'Weather and time?' },
        message,
        { role: 'tool', tool_call_id: calls[0]?.id ?? '', content: '{"temperature":21}' },
        { role: 'tool', tool_call_id: calls[1]?.id ?? '', content: '10:00' },
      ],
      tools,
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    const contents = sent()['contents'] as Json[];
    assert.equal(contents.length, 3);
    assert.deepEqual(contents[1], {
      role: 'model',
      parts: calls.map((c) => ({
        functionCall: { name: c.function.name, args: JSON.parse(c.function.arguments) },
      })),
    });
    assert.deepEqual(contents[2], {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { temperature: 21 } } },
        { functionResponse: { name: 'get_time', response: { output: '10:00' } } },
      ],
    });
  });

  test('a tool result for an unknown call id is a 400', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'flash',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', tool_call_id: 'call_nowhere', content: 'y' },
        ],
      }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && /call_nowhere/.test(error.message),
    );
  });

  test('images: base64 → inlineData, https → fileData; plain http is refused', async () => {
    await client.chat.completions.create({
      model: 'flash',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg?size=large' } },
          ],
        },
      ],
    });
    assert.deepEqual((sent()['contents'] as Json[])[0], {
      role: 'user',
      parts: [
        { text: 'What is this?' },
        { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
        { fileData: { fileUri: 'https://example.com/cat.jpg?size=large', mimeType: 'image/jpeg' } },
      ],
    });
    const before = sim.stats.requests;
    await assert.rejects(
      client.chat.completions.create({
        model: 'flash',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://example.com/a.png' } }] },
        ],
      }),
      (error: unknown) =>
        error instanceof APIError &&
        error.status === 400 &&
        error.code === 'unsupported_feature' &&
        /gem/.test(error.message),
    );
    assert.equal(sim.stats.requests, before, 'a refused request never reaches the upstream');
  });

  test('structured output: responseMimeType + responseJsonSchema, answered with matching JSON', async () => {
    const data = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'A person' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'person',
          strict: true,
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, age: { type: 'integer' } },
            required: ['name', 'age'],
            additionalProperties: false,
          },
        },
      },
    });
    const person = JSON.parse(data.choices[0]?.message.content ?? '') as Json;
    assert.equal(typeof person['name'], 'string');
    assert.equal(typeof person['age'], 'number');
    const config = sent()['generationConfig'] as Json;
    assert.equal(config['responseMimeType'], 'application/json');
    assert.deepEqual((config['responseJsonSchema'] as Json)['required'], ['name', 'age']);
  });

  test('stop sequences, n and max_tokens → length', async () => {
    const data = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Count' }],
      stop: ['END'],
      max_tokens: 4,
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
    });
    assert.equal(data.choices.length, 2);
    assert.ok(data.choices.every((c) => c.finish_reason === 'length'));
    assert.equal(data.usage?.completion_tokens, 8);
    assert.deepEqual(sent()['generationConfig'], {
      maxOutputTokens: 4,
      stopSequences: ['END'],
      candidateCount: 2,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
    });
  });

  test('reasoning: thinkingConfig sent, thoughts surfaced as reasoning_content, thought tokens in usage', async () => {
    const data = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Think' }],
      reasoning_effort: 'low',
    });
    assert.deepEqual((sent()['generationConfig'] as Json)['thinkingConfig'], {
      includeThoughts: true,
      thinkingBudget: 1024,
    });
    const message = data.choices[0]?.message as unknown as Json;
    assert.match(String(message['reasoning_content']), /Thinking/);
    // The signature Gemini put on the answer travels as a thinking block, for the next turn.
    const blocks = message['thinking_blocks'] as Json[];
    assert.ok(blocks.some((b) => typeof b['signature'] === 'string'));
    assert.equal(data.usage?.completion_tokens_details?.reasoning_tokens, 8);
    assert.equal(data.usage?.completion_tokens, 12 + 8);

    // Sent back, the signature goes onto the model turn's part, where Gemini expects it.
    await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Think' }, message as never, { role: 'user', content: 'More' }],
    });
    const model = (sent()['contents'] as Json[])[1] as { parts: Json[] };
    assert.equal(model.parts[0]?.['thought'], true);
    assert.equal(model.parts.at(-1)?.['thoughtSignature'], blocks.find((b) => b['signature'])?.['signature']);
  });

  test('reasoning in a stream: reasoning deltas before the text', async () => {
    const stream = await client.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'user', content: 'Think aloud' }],
      stream: true,
      stream_options: { include_usage: true },
      reasoning_effort: 'medium',
    });
    let reasoning = '';
    let text = '';
    let reasoningAfterText = false;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as (Json & { content?: string }) | undefined;
      if (typeof delta?.['reasoning_content'] === 'string') {
        if (text !== '') reasoningAfterText = true;
        reasoning += delta['reasoning_content'];
      }
      text += delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.match(reasoning, /Thinking/);
    assert.ok(text.length > 0);
    assert.equal(reasoningAfterText, false);
    assert.equal(usage?.completion_tokens_details?.reasoning_tokens, 8);
  });

  test('embeddings: batchEmbedContents, float and base64', async () => {
    const floats = await client.embeddings.create({ model: 'embed', input: ['one', 'two'], dimensions: 16 });
    assert.equal(floats.data.length, 2);
    assert.equal(floats.data[0]?.embedding.length, 16);
    assert.ok((floats.usage.prompt_tokens ?? 0) > 0);
    const request = sim.stats.lastRequest;
    assert.equal(request?.url, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
    assert.deepEqual((request?.body as Json)['requests'], [
      {
        model: 'models/gemini-embedding-001',
        content: { parts: [{ text: 'one' }] },
        outputDimensionality: 16,
      },
      {
        model: 'models/gemini-embedding-001',
        content: { parts: [{ text: 'two' }] },
        outputDimensionality: 16,
      },
    ]);
    const raw = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${appKey}` },
      body: JSON.stringify({ model: 'embed', input: 'one', dimensions: 16, encoding_format: 'base64' }),
    });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]?.embedding ?? '', 'base64');
    assert.equal(bytes.length, 16 * 4);
    assert.ok(Math.abs(bytes.readFloatLE(0) - (floats.data[0]?.embedding[0] ?? 0)) < 1e-6);
  });

  test('errors: 429 keeps the RetryInfo delay as Retry-After, 503 is overloaded, a bad key is 502', async () => {
    sim.setOptions({ rateLimitRate: 1, retryAfterSeconds: 7 });
    try {
      await assert.rejects(
        client.chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'x' }] }),
        (error: unknown) =>
          error instanceof APIError && error.status === 429 && error.headers?.get('retry-after') === '7',
      );
      sim.setOptions({ rateLimitRate: 0, overloadRate: 1 });
      await assert.rejects(
        client.chat.completions.create({
          model: 'flash',
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
        }),
        (error: unknown) =>
          error instanceof APIError && error.status === 503 && error.headers?.get('retry-after') !== null,
      );
    } finally {
      sim.setOptions({ rateLimitRate: 0, overloadRate: 0, retryAfterSeconds: 1 });
    }
    await assert.rejects(
      client.chat.completions.create({ model: 'badkey', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) =>
        error instanceof APIError && error.status === 502 && !/wrong-key/.test(error.message),
    );
  });

  test('a stream cut midway (no finishReason) reaches the client as an error, after the first tokens', async () => {
    sim.setOptions({ streamCutRate: 1 });
    try {
      const stream = await client.chat.completions.create({
        model: 'flash',
        messages: [{ role: 'user', content: 'Cut me' }],
        stream: true,
      });
      let text = '';
      await assert.rejects(async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      });
      assert.ok(text.length > 0);
    } finally {
      sim.setOptions({ streamCutRate: 0 });
    }
  });

  test("an upstream 400 keeps Google's message", async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'flash',
        messages: [{ role: 'system', content: 'only a system prompt' }],
      }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && /contents is not specified/.test(error.message),
    );
  });

  test('unsupported features are refused with 400 naming them', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'flash',
        messages: [{ role: 'user', content: 'x' }],
        logprobs: true,
      }),
      (error: unknown) => error instanceof APIError && error.status === 400 && /logprobs/.test(error.message),
    );
    await assert.rejects(
      client.embeddings.create({ model: 'embed', input: [[1, 2, 3]] }),
      (error: unknown) => error instanceof APIError && error.status === 400 && /token-id/.test(error.message),
    );
  });

  test('Vertex AI: project path, Bearer token, predict embeddings', async () => {
    const data = await client.chat.completions.create({
      model: 'vertex-flash',
      messages: [{ role: 'user', content: 'Hi Vertex' }],
    });
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    const request = sim.stats.lastRequest;
    assert.equal(
      request?.url,
      '/v1/projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent',
    );
    assert.equal(request?.headers['authorization'], `Bearer ${providerKey}`);
    assert.equal(request?.headers['x-goog-api-key'], undefined);
    const embedded = await client.embeddings.create({ model: 'vertex-embed', input: 'hello', dimensions: 8 });
    assert.equal(embedded.data[0]?.embedding.length, 8);
    assert.equal(embedded.usage.prompt_tokens, 2);
    assert.match(sim.stats.lastRequest?.url ?? '', /text-embedding-005:predict$/);
  });
});
