/**
 * The bedrock provider end to end: the official openai SDK → a real Sluice → the bedrock adapter (Converse,
 * SigV4) → `sluice simulate --format bedrock` with signature verification on. Stream and non-stream, tools,
 * images, structured output, stop and length, cache and reasoning usage, error mapping, refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

const secret = 'bedrock-sim-secret';
const claude = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const png =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type Body = Record<string, unknown> & { messages: { role: string; content: Record<string, unknown>[] }[] };

const weatherTools: OpenAI.Chat.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

describe('bedrock provider through Sluice to the bedrock simulator', () => {
  let sim: SimulatorHandle;
  let gateway: TestGateway;
  let client: OpenAI;

  const lastBody = (): Body => sim.stats.lastRequest?.body as Body;
  const chat = (params: Omit<Params, 'model'> & { model?: string }) =>
    client.chat.completions.create({ model: 'claude', ...params } as Params);

  before(async () => {
    sim = await startSimulator({
      port: 0,
      format: 'bedrock',
      apiKey: secret,
      outputTokens: 10,
      recordRequests: true,
    });
    const provider = {
      kind: 'bedrock',
      base_url: sim.url,
      region: 'us-east-1',
      aws_access_key_id: 'AKIDGATEWAY',
    };
    gateway = await startGateway({
      providers: [
        { name: 'br', ...provider, aws_secret_access_key: secret },
        { name: 'br-bad', ...provider, aws_secret_access_key: 'wrong-secret' },
      ],
      models: [
        { name: 'claude', targets: [{ provider: 'br', model: claude }] },
        { name: 'claude-bad-key', targets: [{ provider: 'br-bad', model: claude }] },
        { name: 'titan', targets: [{ provider: 'br', model: 'amazon.titan-embed-text-v2:0' }] },
      ],
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'open', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await sim.close();
  });

  test('non-stream: system and multi-turn reach Converse signed, in alternating turns', async () => {
    const { data, response } = await chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'How are you?' },
        { role: 'user', content: 'And the weather?' },
      ],
    }).withResponse();
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.equal((data.choices[0]?.message.content ?? '').trim().split(' ').length, 10);
    assert.equal(data.usage?.completion_tokens, 10);
    assert.equal(response.headers.get('x-sluice-provider'), 'br');
    const recorded = sim.stats.lastRequest;
    assert.equal(recorded?.url, `/model/${encodeURIComponent(claude)}/converse`);
    assert.match(
      String(recorded?.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIDGATEWAY\/\d{8}\/us-east-1\/bedrock/,
    );
    const body = lastBody();
    assert.deepEqual(body['system'], [{ text: 'Be brief.' }]);
    assert.deepEqual(
      body.messages.map((m) => [m.role, m.content.length]),
      [
        ['user', 1],
        ['assistant', 1],
        ['user', 2],
      ],
    );
  });

  test('stream with include_usage: one chunk per token, finish, usage', async () => {
    const stream = await chat({
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    } as never);
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks >= 10);
    assert.equal(text.trim().split(' ').length, 10);
    assert.equal(finish, 'stop');
    assert.equal(usage?.completion_tokens, 10);
    assert.ok((usage?.prompt_tokens ?? 0) > 0);
    assert.equal(sim.stats.lastRequest?.url, `/model/${encodeURIComponent(claude)}/converse-stream`);
  });

  test('tools: parallel calls, then the tool results go back and the answer is text', async () => {
    const first = await chat({
      messages: [{ role: 'user', content: 'Weather in Paris, and the time?' }],
      tools: weatherTools,
      tool_choice: 'required',
    });
    const message = first.choices[0]?.message;
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    const calls = (message?.tool_calls ?? []) as OpenAI.Chat.ChatCompletionMessageFunctionToolCall[];
    assert.deepEqual(
      calls.map((c) => c.function.name),
      ['get_weather', 'get_time'],
    );
    assert.equal(typeof (JSON.parse(calls[0]?.function.arguments ?? '') as { city: unknown }).city, 'string');
    assert.deepEqual(
      lastBody()['toolConfig'] && (lastBody()['toolConfig'] as Record<string, unknown>)['toolChoice'],
      { any: {} },
    );

    const second = await chat({
      messages: [
        { role: 'user', content: 'Weather in Paris, and the time?' },
        { role: 'assistant', content: null, tool_calls: calls },
        { role: 'tool', tool_call_id: calls[0]?.id ?? '', content: '18°C' },
        { role: 'tool', tool_call_id: calls[1]?.id ?? '', content: '12:00' },
      ],
      tools: weatherTools,
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.ok((second.choices[0]?.message.content ?? '').length > 0);
    const turns = lastBody().messages;
    assert.deepEqual(
      turns[2]?.content.map((block) => Object.keys(block)[0]),
      ['toolResult', 'toolResult'],
    );
  });

  test('tools streamed: named tool choice, argument deltas assemble into valid JSON', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: weatherTools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream: true,
    });
    let args = '';
    let name: string | undefined;
    let id: string | undefined;
    let deltas = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call !== undefined) {
        deltas++;
        args += call.function?.arguments ?? '';
        name ??= call.function?.name;
        id ??= call.id;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(name, 'get_weather');
    assert.match(id ?? '', /^tooluse_/);
    assert.ok(deltas >= 2);
    assert.equal(typeof (JSON.parse(args) as { city: unknown }).city, 'string');
    assert.equal(finish, 'tool_calls');
  });

  test('images: a base64 image is an image block; an image URL is refused with 400', async () => {
    const answer = await chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: png } },
          ],
        },
      ],
    });
    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    const image = lastBody().messages[0]?.content[1]?.['image'] as { format: string };
    assert.equal(image.format, 'png');
    await assert.rejects(
      chat({
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        ],
      }),
      (error: unknown) =>
        error instanceof APIError && error.status === 400 && error.code === 'unsupported_feature',
    );
  });

  test('structured output: json_schema answers JSON that satisfies the schema', async () => {
    const answer = await chat({
      messages: [{ role: 'user', content: 'A person' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'person',
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, age: { type: 'integer' } },
            required: ['name', 'age'],
            additionalProperties: false,
          },
        },
      },
    });
    const value = JSON.parse(answer.choices[0]?.message.content ?? '') as { name: unknown; age: unknown };
    assert.equal(typeof value.name, 'string');
    assert.ok(Number.isInteger(value.age));
  });

  test('stop sequences cut the answer; max_tokens gives length', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Count' }];
    const full = (await chat({ messages })).choices[0]?.message.content ?? '';
    const stop = full.split(' ').slice(0, 5).join(' ').slice(-4);
    const cut = await chat({ messages, stop: [stop] });
    assert.equal(cut.choices[0]?.finish_reason, 'stop');
    assert.equal(cut.choices[0]?.message.content, full.slice(0, full.indexOf(stop)));
    const short = await chat({ messages, max_tokens: 3 });
    assert.equal(short.choices[0]?.finish_reason, 'length');
    assert.equal(short.usage?.completion_tokens, 3);
  });

  test('usage: a cache_control system prompt is written once, then read as cached tokens', async () => {
    const messages = [
      {
        role: 'system',
        content: 'Long shared instructions. '.repeat(30),
        cache_control: { type: 'ephemeral' },
      },
      { role: 'user', content: 'Cached?' },
    ] as unknown as OpenAI.Chat.ChatCompletionMessageParam[];
    const first = await chat({ messages });
    const second = await chat({ messages });
    assert.deepEqual(lastBody()['system'], [
      { text: 'Long shared instructions. '.repeat(30) },
      { cachePoint: { type: 'default' } },
    ]);
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    assert.ok(cached > 100, `cached ${cached}`);
    // Cache reads and writes count as input tokens in OpenAI's accounting.
    assert.equal(second.usage?.prompt_tokens, first.usage?.prompt_tokens);
    assert.ok((second.usage?.prompt_tokens ?? 0) > cached);
  });

  test('reasoning: effort becomes a thinking budget; signed blocks come back and go back', async () => {
    const answer = await chat({ messages: [{ role: 'user', content: 'Think' }], reasoning_effort: 'low' });
    assert.deepEqual(lastBody()['additionalModelRequestFields'], {
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    const message = answer.choices[0]?.message as unknown as {
      content: string;
      reasoning_content: string;
      thinking_blocks: { type: string; thinking: string; signature: string }[];
    };
    assert.ok(message.reasoning_content.length > 0);
    assert.ok((message.thinking_blocks[0]?.signature ?? '').length > 0);
    await chat({
      messages: [
        { role: 'user', content: 'Think' },
        message as unknown as OpenAI.Chat.ChatCompletionMessageParam,
        { role: 'user', content: 'Again' },
      ],
    });
    const sent = lastBody().messages[1]?.content[0] as {
      reasoningContent: { reasoningText: { signature: string } };
    };
    assert.equal(sent.reasoningContent.reasoningText.signature, message.thinking_blocks[0]?.signature);

    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Think aloud' }],
      reasoning_effort: 'high',
      stream: true,
    });
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      text += delta?.content ?? '';
    }
    assert.ok(reasoning.length > 0 && text.length > 0);
  });

  test('errors: 429 stays 429, 503 is upstream_overloaded with Retry-After, a bad signature is 502', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'x' }];
    try {
      sim.setOptions({ rateLimitRate: 1 });
      await assert.rejects(chat({ messages }), (error: unknown) => {
        return error instanceof APIError && error.status === 429 && /Too many requests/.test(error.message);
      });
      sim.setOptions({ rateLimitRate: 0, overloadRate: 1 });
      await assert.rejects(chat({ messages }), (error: unknown) => {
        return (
          error instanceof APIError &&
          error.status === 503 &&
          error.code === 'upstream_overloaded' &&
          error.headers?.get('retry-after') === '1'
        );
      });
    } finally {
      sim.setOptions({ rateLimitRate: 0, overloadRate: 0 });
    }
    await assert.rejects(chat({ model: 'claude-bad-key', messages }), (error: unknown) => {
      return error instanceof APIError && error.status === 502 && error.code === 'upstream_auth_failed';
    });
  });

  test('a mid-stream exception event ends the stream with an error frame', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Fail halfway' }],
      stream: true,
      metadata: { simulate_stream_exception: 'modelStreamErrorException' },
    });
    let text = '';
    await assert.rejects(
      async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      },
      (error: unknown) => error instanceof APIError && /modelStreamErrorException/.test(error.message),
    );
    assert.ok(text.length > 0, 'the tokens before the exception were delivered');
  });

  test('what Converse cannot do is a 400 naming the feature, before any upstream call', async () => {
    const before = sim.stats.requests;
    for (const extra of [
      { n: 2 },
      { logprobs: true },
      { seed: 1 },
      { response_format: { type: 'json_object' } },
    ]) {
      await assert.rejects(
        chat({ messages: [{ role: 'user', content: 'x' }], ...extra } as Params),
        (error: unknown) =>
          error instanceof APIError &&
          error.status === 400 &&
          error.code === 'unsupported_feature' &&
          /provider br/.test(error.message),
      );
    }
    assert.equal(sim.stats.requests, before);
  });

  test('embeddings: Titan Text Embeddings v2, one invoke per input', async () => {
    const answer = await client.embeddings.create({
      model: 'titan',
      input: ['hello', 'world'],
      dimensions: 256,
    });
    assert.equal(answer.data.length, 2);
    assert.equal(answer.data[0]?.embedding.length, 256);
    assert.notDeepEqual(answer.data[0]?.embedding, answer.data[1]?.embedding);
    assert.ok(answer.usage.prompt_tokens > 0);
    assert.equal(
      sim.stats.lastRequest?.url,
      `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`,
    );
  });
});
