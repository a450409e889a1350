/**
 * Fidelity of the simulator's gemini format, proven by Google's official SDK (@google/genai) pointed at
 * it: if the SDK parses what the simulator answers, the adapter tests that use the simulator test the
 * adapter against the real wire format.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';

const apiKey = 'gemini-sim-key-0001';

describe('@google/genai against the simulator (--format gemini)', () => {
  let sim: SimulatorHandle;
  let ai: GoogleGenAI;

  before(async () => {
    sim = await startSimulator({ port: 0, format: 'gemini', apiKey, outputTokens: 10, recordRequests: true });
    ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: sim.url } });
  });

  after(async () => {
    await sim.close();
  });

  test('generateContent: text, finish reason and usage', async () => {
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Say something',
      config: { systemInstruction: 'Be brief.' },
    });
    assert.ok((response.text ?? '').trim().split(' ').length === 10, response.text);
    assert.equal(response.candidates?.[0]?.finishReason, 'STOP');
    assert.equal(response.usageMetadata?.candidatesTokenCount, 10);
    assert.ok((response.usageMetadata?.promptTokenCount ?? 0) > 0);
    assert.equal(response.modelVersion, 'gemini-2.5-flash');
    // The SDK calls the v1 surface by default; the adapter calls v1beta: both are served.
    assert.match(sim.stats.lastRequest?.url ?? '', /^\/v1(beta)?\/models\/gemini-2\.5-flash:generateContent/);
    assert.equal(sim.stats.lastRequest?.headers['x-goog-api-key'], apiKey);
  });

  test('the same prompt and seed give the same text; maxOutputTokens cuts with MAX_TOKENS', async () => {
    const a = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Repeat' });
    const b = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Repeat' });
    assert.equal(a.text, b.text);
    const cut = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Long answer',
      config: { maxOutputTokens: 3 },
    });
    assert.equal(cut.candidates?.[0]?.finishReason, 'MAX_TOKENS');
    assert.equal(cut.usageMetadata?.candidatesTokenCount, 3);
  });

  test('generateContentStream: chunks add up to the whole answer; the last has finishReason and usage', async () => {
    const whole = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Stream me' });
    const stream = await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'Stream me',
    });
    let text = '';
    let chunks = 0;
    let finish: string | undefined;
    let usage: number | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.text ?? '';
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
      usage = chunk.usageMetadata?.candidatesTokenCount ?? usage;
    }
    assert.equal(chunks, 10);
    assert.equal(text, whole.text);
    assert.equal(finish, 'STOP');
    assert.equal(usage, 10);
    assert.match(sim.stats.lastRequest?.url ?? '', /:streamGenerateContent\?alt=sse$/);
  });

  test('function calling with mode ANY: one call per declaration, args satisfying the schema', async () => {
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Weather in Paris and the time?',
      config: {
        tools: [
          {
            functionDeclarations: [
              {
                name: 'get_weather',
                description: 'Weather for a city',
                parameters: {
                  type: Type.OBJECT,
                  properties: { city: { type: Type.STRING }, days: { type: Type.INTEGER } },
                  required: ['city', 'days'],
                },
              },
              {
                name: 'get_time',
                parametersJsonSchema: { type: 'object', properties: { zone: { type: 'string' } } },
              },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } },
      },
    });
    const calls = response.functionCalls ?? [];
    assert.deepEqual(
      calls.map((c) => c.name),
      ['get_weather', 'get_time'],
    );
    assert.equal(typeof calls[0]?.args?.['city'], 'string');
    assert.equal(typeof calls[0]?.args?.['days'], 'number');
    assert.equal(typeof calls[1]?.args?.['zone'], 'string');
    assert.equal(response.candidates?.[0]?.finishReason, 'STOP');

    const named = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Time?',
      config: {
        tools: [{ functionDeclarations: [{ name: 'a' }, { name: 'b' }] }],
        toolConfig: {
          functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['b'] },
        },
      },
    });
    assert.deepEqual(
      named.functionCalls?.map((c) => c.name),
      ['b'],
    );
  });

  test('function calls stream whole, one per chunk', async () => {
    const stream = await ai.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'Call both',
      config: {
        tools: [{ functionDeclarations: [{ name: 'a' }, { name: 'b' }] }],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } },
      },
    });
    const names: string[] = [];
    for await (const chunk of stream)
      for (const call of chunk.functionCalls ?? []) names.push(call.name ?? '');
    assert.deepEqual(names, ['a', 'b']);
  });

  test('JSON output with a response schema (OpenAPI subset and JSON Schema)', async () => {
    const typed = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'A person',
      config: {
        responseMimeType: 'application/json',
        responseSchema: {
          type: Type.OBJECT,
          properties: { name: { type: Type.STRING }, age: { type: Type.INTEGER } },
          required: ['name', 'age'],
        },
      },
    });
    const person = JSON.parse(typed.text ?? '') as { name: unknown; age: unknown };
    assert.equal(typeof person.name, 'string');
    assert.equal(typeof person.age, 'number');
    const json = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'A list',
      config: {
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'array', items: { type: 'boolean' }, minItems: 2 },
      },
    });
    assert.deepEqual(JSON.parse(json.text ?? ''), [true, true]);
  });

  test('thinking with includeThoughts: a thought part, a signature and thoughtsTokenCount', async () => {
    const response = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Think first',
      config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
    });
    const parts = response.candidates?.[0]?.content?.parts ?? [];
    assert.equal(parts[0]?.thought, true);
    assert.ok((parts[0]?.text ?? '').length > 0);
    assert.ok(parts.some((p) => p.thought !== true && typeof p.thoughtSignature === 'string'));
    assert.equal(response.usageMetadata?.thoughtsTokenCount, 8);
    assert.equal(
      response.usageMetadata?.totalTokenCount,
      (response.usageMetadata?.promptTokenCount ?? 0) + 10 + 8,
    );
  });

  test('countTokens, embedContent (batched by the SDK) and models.list', async () => {
    const counted = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'twelve chars' });
    assert.equal(counted.totalTokens, 3);
    const embedded = await ai.models.embedContent({
      model: 'gemini-embedding-001',
      contents: ['first text', 'second text'],
      config: { outputDimensionality: 8 },
    });
    assert.equal(embedded.embeddings?.length, 2);
    assert.equal(embedded.embeddings?.[0]?.values?.length, 8);
    assert.notDeepEqual(embedded.embeddings?.[0]?.values, embedded.embeddings?.[1]?.values);
    assert.match(sim.stats.lastRequest?.url ?? '', /:batchEmbedContents$/);
    const names: string[] = [];
    for await (const model of await ai.models.list()) names.push(model.name ?? '');
    assert.ok(names.includes('models/gemini-2.5-flash'));
  });

  test('errors arrive as ApiError with the status: bad key, bad request, 429, 503', async () => {
    const wrongKey = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: sim.url } });
    await assert.rejects(
      wrongKey.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }),
      (error: unknown) =>
        error instanceof ApiError && error.status === 400 && /API key not valid/.test(error.message),
    );
    await assert.rejects(
      ai.models.generateContent({ model: 'gemini-2.5-flash', contents: [{ role: 'user', parts: [] }] }),
      (error: unknown) =>
        error instanceof ApiError && error.status === 400 && /parts must not be empty/.test(error.message),
    );
    sim.setOptions({ rateLimitRate: 1 });
    try {
      await assert.rejects(
        ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }),
        (error: unknown) =>
          error instanceof ApiError && error.status === 429 && /RESOURCE_EXHAUSTED/.test(error.message),
      );
      sim.setOptions({ rateLimitRate: 0, overloadRate: 1 });
      await assert.rejects(
        ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'x' }),
        (error: unknown) => error instanceof ApiError && error.status === 503,
      );
    } finally {
      sim.setOptions({ rateLimitRate: 0, overloadRate: 0 });
    }
  });

  test('Vertex AI paths: Bearer auth, generateContent and a 401 without a token', async () => {
    const url = `${sim.url}/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent`;
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    const ok = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body,
    });
    assert.equal(ok.status, 200);
    const json = (await ok.json()) as { candidates: { content: { role: string } }[]; createTime?: string };
    assert.equal(json.candidates[0]?.content.role, 'model');
    assert.ok(json.createTime);
    const denied = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { error: { status: string } }).error.status, 'UNAUTHENTICATED');
  });

  test('streamGenerateContent without alt=sse answers one JSON array', async () => {
    const response = await fetch(
      `${sim.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=${apiKey}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }] }),
      },
    );
    assert.equal(response.status, 200);
    const chunks = (await response.json()) as { candidates: { finishReason?: string }[] }[];
    assert.equal(chunks.length, 10);
    assert.equal(chunks.at(-1)?.candidates[0]?.finishReason, 'STOP');
  });

  test('unknown fields are refused the way the API refuses them', async () => {
    const response = await fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': apiKey },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }], generationConfig: { max_tokens: 5 } }),
    });
    assert.equal(response.status, 400);
    const { error } = (await response.json()) as { error: { message: string; status: string } };
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.match(error.message, /Unknown name "max_tokens" at 'generation_config'/);
  });
});
