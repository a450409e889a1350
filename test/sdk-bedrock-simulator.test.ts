/**
 * Fidelity of `sluice simulate --format bedrock`, proven by the official AWS SDK
 * (@aws-sdk/client-bedrock-runtime): its SigV4 signature verifies, its Converse and ConverseStream
 * deserialisers read the answers, and its error classes recognise the errors and stream exceptions.
 * The SDK's default handler is HTTP/2 (for bidirectional streams); the simulator speaks HTTP/1.1 on
 * plain http, so the tests pass the SDK's HTTP/1.1 handler.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
  type ConverseStreamOutput,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';

const secret = 'sim-secret-access-key';
const modelId = 'anthropic.claude-3-5-haiku-20241022-v1:0';

function clientFor(sim: SimulatorHandle, secretAccessKey = secret): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-west-2',
    endpoint: sim.url,
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
}

const user = (text: string): Message[] => [{ role: 'user', content: [{ text }] }];

async function collect(
  stream: AsyncIterable<ConverseStreamOutput> | undefined,
): Promise<ConverseStreamOutput[]> {
  const events: ConverseStreamOutput[] = [];
  for await (const event of stream ?? []) events.push(event);
  return events;
}

describe('AWS SDK against the bedrock simulator', () => {
  let sim: SimulatorHandle;
  let client: BedrockRuntimeClient;

  before(async () => {
    sim = await startSimulator({ port: 0, format: 'bedrock', apiKey: secret, outputTokens: 10 });
    client = clientFor(sim);
  });
  after(async () => {
    client.destroy();
    await sim.close();
  });

  test('Converse: text, end_turn, usage, deterministic for a seed', async () => {
    const first = await client.send(new ConverseCommand({ modelId, messages: user('Hello') }));
    const second = await client.send(new ConverseCommand({ modelId, messages: user('Hello') }));
    const text = first.output?.message?.content?.[0]?.text ?? '';
    assert.equal(text.trim().split(' ').length, 10);
    assert.equal(second.output?.message?.content?.[0]?.text, text);
    assert.equal(first.stopReason, 'end_turn');
    assert.equal(first.usage?.outputTokens, 10);
    assert.equal(first.usage?.totalTokens, (first.usage?.inputTokens ?? 0) + 10);
    assert.match(first.$metadata.requestId ?? '', /^[0-9a-f-]{36}$/);
  });

  test('Converse: maxTokens caps the answer with max_tokens; a stop sequence cuts it with stop_sequence', async () => {
    const capped = await client.send(
      new ConverseCommand({ modelId, messages: user('Long'), inferenceConfig: { maxTokens: 3 } }),
    );
    assert.equal(capped.stopReason, 'max_tokens');
    assert.equal(capped.usage?.outputTokens, 3);
    const full = (await client.send(new ConverseCommand({ modelId, messages: user('Stop') }))).output?.message
      ?.content?.[0]?.text as string;
    const stop = full.split(' ').slice(0, 4).join(' ').slice(-3);
    const cut = await client.send(
      new ConverseCommand({ modelId, messages: user('Stop'), inferenceConfig: { stopSequences: [stop] } }),
    );
    assert.equal(cut.stopReason, 'stop_sequence');
    const text = cut.output?.message?.content?.[0]?.text ?? '';
    assert.equal(text, full.slice(0, full.indexOf(stop)));
  });

  test('Converse: forced tool use answers toolUse blocks whose input satisfies the schema', async () => {
    const answer = await client.send(
      new ConverseCommand({
        modelId,
        messages: user('Weather in Paris and the time?'),
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: 'get_weather',
                inputSchema: {
                  json: {
                    type: 'object',
                    properties: { city: { type: 'string' }, days: { type: 'integer' } },
                    required: ['city', 'days'],
                  },
                },
              },
            },
            { toolSpec: { name: 'now', inputSchema: { json: { type: 'object', properties: {} } } } },
          ],
          toolChoice: { any: {} },
        },
      }),
    );
    assert.equal(answer.stopReason, 'tool_use');
    const uses = (answer.output?.message?.content ?? []).map((block) => block.toolUse);
    assert.deepEqual(
      uses.map((use) => use?.name),
      ['get_weather', 'now'],
    );
    const input = uses[0]?.input as { city: unknown; days: unknown };
    assert.equal(typeof input.city, 'string');
    assert.ok(Number.isInteger(input.days));
    assert.match(uses[0]?.toolUseId ?? '', /^tooluse_[A-Za-z0-9]{22}$/);

    // The tool result goes back and the conversation continues in text.
    const next = await client.send(
      new ConverseCommand({
        modelId,
        messages: [
          ...user('Weather in Paris?'),
          { role: 'assistant', content: answer.output?.message?.content ?? [] },
          {
            role: 'user',
            content: (uses as { toolUseId: string }[]).map((use) => ({
              toolResult: { toolUseId: use.toolUseId, content: [{ json: { temperature: 18 } }] },
            })),
          },
        ],
        toolConfig: {
          tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object' } } } }],
        },
      }),
    );
    assert.equal(next.stopReason, 'end_turn');
  });

  test('Converse: reasoning block with a signature when thinking is enabled; structured output', async () => {
    const answer = await client.send(
      new ConverseCommand({
        modelId,
        messages: user('Think'),
        additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } },
      }),
    );
    const [reasoning, text] = answer.output?.message?.content ?? [];
    assert.ok((reasoning?.reasoningContent?.reasoningText?.text ?? '').length > 0);
    assert.ok((reasoning?.reasoningContent?.reasoningText?.signature ?? '').length > 0);
    assert.ok((text?.text ?? '').length > 0);

    const schema = {
      type: 'object',
      properties: { n: { type: 'integer' } },
      required: ['n'],
      additionalProperties: false,
    };
    const structured = await client.send(
      new ConverseCommand({
        modelId,
        messages: user('JSON'),
        outputConfig: {
          textFormat: {
            type: 'json_schema',
            structure: { jsonSchema: { name: 'n', schema: JSON.stringify(schema) } },
          },
        },
      }),
    );
    const value = JSON.parse(structured.output?.message?.content?.[0]?.text ?? '') as { n: unknown };
    assert.ok(Number.isInteger(value.n));
  });

  test('Converse: cache points write the prefix once, then read it', async () => {
    const system = [
      { text: 'You are a careful assistant. '.repeat(20) },
      { cachePoint: { type: 'default' as const } },
    ];
    const first = await client.send(new ConverseCommand({ modelId, system, messages: user('One') }));
    const second = await client.send(new ConverseCommand({ modelId, system, messages: user('Two') }));
    assert.ok((first.usage?.cacheWriteInputTokens ?? 0) > 100);
    assert.equal(first.usage?.cacheReadInputTokens, 0);
    assert.equal(second.usage?.cacheReadInputTokens, first.usage?.cacheWriteInputTokens);
    assert.equal(second.usage?.cacheWriteInputTokens, 0);
  });

  test('ConverseStream: messageStart, text deltas, contentBlockStop, messageStop, metadata', async () => {
    const response = await client.send(new ConverseStreamCommand({ modelId, messages: user('Hello') }));
    const events = await collect(response.stream);
    assert.deepEqual(events[0], { messageStart: { role: 'assistant' } });
    const deltas = events.filter((e) => e.contentBlockDelta !== undefined);
    assert.equal(deltas.length, 10);
    const streamed = deltas.map((e) => e.contentBlockDelta?.delta?.text).join('');
    const whole = await client.send(new ConverseCommand({ modelId, messages: user('Hello') }));
    assert.equal(streamed, whole.output?.message?.content?.[0]?.text);
    const tail = events.slice(-3);
    assert.deepEqual(tail[0], { contentBlockStop: { contentBlockIndex: 0 } });
    assert.deepEqual(tail[1], { messageStop: { stopReason: 'end_turn' } });
    assert.equal(tail[2]?.metadata?.usage?.outputTokens, 10);
  });

  test('ConverseStream: reasoning deltas and signature, then tool use with streamed input', async () => {
    const response = await client.send(
      new ConverseStreamCommand({
        modelId,
        messages: user('Think, then call'),
        additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 2048 } },
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: 'lookup',
                inputSchema: {
                  json: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
                },
              },
            },
          ],
          toolChoice: { tool: { name: 'lookup' } },
        },
      }),
    );
    const events = await collect(response.stream);
    const reasoning = events.filter((e) => e.contentBlockDelta?.delta?.reasoningContent !== undefined);
    assert.ok(reasoning.some((e) => e.contentBlockDelta?.delta?.reasoningContent?.signature !== undefined));
    const start = events.find((e) => e.contentBlockStart !== undefined)?.contentBlockStart;
    assert.equal(start?.contentBlockIndex, 1);
    assert.equal(start?.start?.toolUse?.name, 'lookup');
    const input = events
      .filter((e) => e.contentBlockDelta?.delta?.toolUse !== undefined)
      .map((e) => e.contentBlockDelta?.delta?.toolUse?.input)
      .join('');
    assert.equal(typeof (JSON.parse(input) as { query: unknown }).query, 'string');
    assert.equal(events.find((e) => e.messageStop)?.messageStop?.stopReason, 'tool_use');
  });

  test('ConverseStream: a mid-stream exception event surfaces as the SDK exception', async () => {
    const response = await client.send(
      new ConverseStreamCommand({
        modelId,
        messages: user('Fail halfway'),
        requestMetadata: { simulate_stream_exception: 'throttlingException' },
      }),
    );
    const seen: ConverseStreamOutput[] = [];
    await assert.rejects(
      async () => {
        for await (const event of response.stream ?? []) seen.push(event);
      },
      (error: unknown) => error instanceof ThrottlingException,
    );
    assert.ok(seen.some((e) => e.contentBlockDelta !== undefined));
    assert.ok(!seen.some((e) => e.messageStop !== undefined));
  });

  test('validation errors are ValidationException with status 400 and Bedrock wording', async () => {
    await assert.rejects(
      client.send(
        new ConverseCommand({
          modelId,
          messages: [...user('a'), ...user('b')],
        }),
      ),
      (error: unknown) =>
        error instanceof ValidationException &&
        error.$metadata.httpStatusCode === 400 &&
        /must alternate between user and assistant/.test(error.message),
    );
    await assert.rejects(
      client.send(new ConverseCommand({ modelId, messages: user('x'), inferenceConfig: { maxTokens: 0 } })),
      (error: unknown) =>
        error instanceof ValidationException && /inferenceConfig.maxTokens/.test(error.message),
    );
  });

  test('a wrong secret is InvalidSignatureException 403; a Bearer API key is accepted', async () => {
    const wrong = clientFor(sim, 'not-the-secret');
    await assert.rejects(
      wrong.send(new ConverseCommand({ modelId, messages: user('x') })),
      (error: unknown) => {
        const e = error as { name: string; $metadata: { httpStatusCode?: number } };
        return e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403;
      },
    );
    wrong.destroy();
    const bearer = new BedrockRuntimeClient({
      region: 'us-west-2',
      endpoint: sim.url,
      token: { token: secret },
      authSchemePreference: ['httpBearerAuth'],
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler(),
    });
    const answer = await bearer.send(new ConverseCommand({ modelId, messages: user('x') }));
    assert.equal(answer.stopReason, 'end_turn');
    bearer.destroy();
  });

  test('injected faults: ThrottlingException 429, ServiceUnavailableException 503, InternalServerException 500', async () => {
    const cases = [
      { options: { rateLimitRate: 1 }, status: 429, check: (e: unknown) => e instanceof ThrottlingException },
      {
        options: { overloadRate: 1 },
        status: 503,
        check: (e: unknown) => e instanceof ServiceUnavailableException,
      },
      {
        options: { errorRate: 1 },
        status: 500,
        check: (e: unknown) => (e as Error).name === 'InternalServerException',
      },
    ];
    try {
      for (const { options, status, check } of cases) {
        sim.setOptions({ errorRate: 0, rateLimitRate: 0, overloadRate: 0, ...options });
        await assert.rejects(
          client.send(new ConverseCommand({ modelId, messages: user('x') })),
          (error: unknown) => {
            return (
              check(error) &&
              (error as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode === status
            );
          },
        );
      }
    } finally {
      sim.setOptions({ errorRate: 0, rateLimitRate: 0, overloadRate: 0 });
    }
  });
});
