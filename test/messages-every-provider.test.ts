/**
 * The Anthropic-compatible endpoint in front of every provider kind: the official @anthropic-ai/sdk → Sluice
 * `/v1/messages` → each provider adapter → the simulator speaking that provider's wire format (Mistral:
 * the OpenAI-format simulator behind a layer that speaks Mistral's dialect). The same checks run against
 * every provider (text, streams, forced tools, tool results, max_tokens, system prompts, thinking, rate
 * limits, overloads, 500s, cut streams), and each provider says how its upstream request must look, so a
 * translation that drops or misplaces something fails here even when the answer looks right.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { SimulatorFormat } from '../src/simulator/options.js';
import { startSimulator, type SimulatorHandle } from '../src/simulator/server.js';
import { startGateway, type TestGateway } from './helpers/gateway.js';

type Json = Record<string, unknown>;
type Format = Exclude<SimulatorFormat, 'all'>;

const appKey = 'sk-sluice-messages-app-01';
const providerKey = 'provider-secret-xmsg-01';
const outputTokens = 6;
const system = 'You are terse and speak only French.';

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
    required: ['city', 'unit'],
  },
};
const clock: Anthropic.Tool = {
  name: 'get_time',
  input_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
};

/** A conversation whose last user turn answers an earlier tool_use. */
const toolRoundTrip: Anthropic.MessageParam[] = [
  { role: 'user', content: 'Weather in Paris?' },
  {
    role: 'assistant',
    content: [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', unit: 'c' } },
    ],
  },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '18 degrees' }] },
];

interface ProviderCase {
  /** The provider's `kind` in the config, also its name there and the model alias clients use. */
  kind: string;
  format: Format;
  /** The provider block, minus name and kind, for a simulator at `url`. */
  config(url: string): Json;
  model: string;
  /** The system prompt as the provider received it. */
  systemOf(body: Json): unknown;
  systemShape: unknown;
  /** The tool_choice {type: 'tool', name: 'get_weather'} (with two tools offered) as the provider received it. */
  forcedOf(body: Json): unknown;
  forcedShape: unknown;
  /** The assistant's tool call and the user's tool result of toolRoundTrip, as the provider received them. */
  toolTurnsOf(body: Json): unknown;
  toolTurnsShape: unknown;
  /** disable_parallel_tool_use: true is refused with a 400 naming it (the provider has no switch). */
  refusesSingleToolCall?: RegExp;
  /**
   * What `thinking` gives: reasoning blocks with signatures, without, none at all (OpenAI keeps its
   * reasoning to itself), or a 400 naming it.
   */
  thinking: 'signed' | 'unsigned' | 'none' | RegExp;
  /** False when the provider's 429 carries no Retry-After for the gateway to keep. */
  retryAfter?: boolean;
  /** Mistral speaks OpenAI's format with its own dialect: the simulator sits behind mistralDialect. */
  dialect?: 'mistral';
}

const messagesOf = (body: Json): Json[] => body['messages'] as Json[];
const toolNames = (body: Json): unknown =>
  (body['tools'] as { function?: { name: string }; name?: string }[]).map((t) => t.function?.name ?? t.name);
const openAICall = {
  id: 'toolu_01',
  type: 'function',
  function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
};
const openAIResult = { role: 'tool', tool_call_id: 'toolu_01', content: '18 degrees' };
const openAIWire = {
  systemOf: (body: Json) => messagesOf(body)[0],
  systemShape: { role: 'system', content: system },
  forcedOf: (body: Json) => [body['tool_choice'], toolNames(body)],
  forcedShape: [{ type: 'function', function: { name: 'get_weather' } }, ['get_weather', 'get_time']],
  toolTurnsOf: (body: Json) => messagesOf(body).slice(1),
  toolTurnsShape: [{ role: 'assistant', content: 'Checking.', tool_calls: [openAICall] }, openAIResult],
};

const cases: ProviderCase[] = [
  {
    kind: 'openai-compatible',
    thinking: 'none',
    format: 'openai',
    config: (url) => ({ base_url: `${url}/v1` }),
    model: 'gpt-4o-mini',
    ...openAIWire,
  },
  {
    kind: 'azure',
    thinking: 'none',
    format: 'openai',
    config: (url) => ({ base_url: url, api_version: '2024-10-21' }),
    model: 'my-gpt4o',
    ...openAIWire,
  },
  {
    kind: 'mistral',
    thinking: /"thinking" is not supported by provider mistral/,
    format: 'openai',
    config: (url) => ({ base_url: `${url}/v1` }),
    model: 'mistral-small-latest',
    ...openAIWire,
    dialect: 'mistral',
  },
  {
    // Native pass-through: the Anthropic body goes up as the client sent it, only the model replaced.
    kind: 'anthropic',
    thinking: 'signed',
    format: 'anthropic',
    config: (url) => ({ base_url: url }),
    model: 'claude-sonnet-4-5-20250929',
    systemOf: (body) => body['system'],
    systemShape: system,
    forcedOf: (body) => [body['tool_choice'], toolNames(body)],
    forcedShape: [{ type: 'tool', name: 'get_weather' }, ['get_weather', 'get_time']],
    toolTurnsOf: (body) => messagesOf(body).slice(1),
    toolTurnsShape: toolRoundTrip.slice(1),
  },
  {
    kind: 'gemini',
    thinking: 'signed',
    format: 'gemini',
    config: (url) => ({ base_url: url }),
    model: 'gemini-2.5-flash',
    systemOf: (body) => body['systemInstruction'],
    systemShape: { parts: [{ text: system }] },
    forcedOf: (body) => body['toolConfig'],
    forcedShape: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    toolTurnsOf: (body) => (body['contents'] as Json[]).slice(1),
    toolTurnsShape: [
      {
        role: 'model',
        parts: [
          { text: 'Checking.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'c' } } },
        ],
      },
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'get_weather', response: { output: '18 degrees' } } }],
      },
    ],
  },
  {
    kind: 'bedrock',
    thinking: 'signed',
    format: 'bedrock',
    // The simulator verifies the SigV4 signature with its apiKey as the secret.
    config: (url) => ({
      base_url: url,
      region: 'us-east-1',
      aws_access_key_id: 'AKIDXMSG',
      aws_secret_access_key: providerKey,
    }),
    model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    systemOf: (body) => body['system'],
    systemShape: [{ text: system }],
    forcedOf: (body) => (body['toolConfig'] as Json)['toolChoice'],
    forcedShape: { tool: { name: 'get_weather' } },
    toolTurnsOf: (body) => messagesOf(body).slice(1),
    toolTurnsShape: [
      {
        role: 'assistant',
        content: [
          { text: 'Checking.' },
          { toolUse: { toolUseId: 'toolu_01', name: 'get_weather', input: { city: 'Paris', unit: 'c' } } },
        ],
      },
      {
        role: 'user',
        content: [{ toolResult: { toolUseId: 'toolu_01', content: [{ text: '18 degrees' }] } }],
      },
    ],
    refusesSingleToolCall: /parallel_tool_calls: false.*bedrock/,
    // Bedrock's ThrottlingException comes without Retry-After; the AWS SDKs back off on their own.
    retryAfter: false,
  },
  {
    kind: 'cohere',
    thinking: 'unsigned',
    format: 'cohere',
    config: (url) => ({ base_url: url }),
    model: 'command-a-03-2025',
    ...openAIWire,
    // Cohere has no named tool choice: the named tool alone, REQUIRED.
    forcedShape: ['REQUIRED', ['get_weather']],
    // The text of a tool-calling turn is Cohere's tool_plan.
    toolTurnsShape: [{ role: 'assistant', tool_plan: 'Checking.', tool_calls: [openAICall] }, openAIResult],
    refusesSingleToolCall: /disabling parallel tool calls.*cohere/,
  },
];

/** OpenAI request fields Mistral's schema lacks: it answers them with a 422 (`extra_forbidden`). */
const notMistral = ['stream_options', 'max_completion_tokens', 'seed', 'user', 'store', 'metadata', 'top_k'];

/**
 * Mistral's API in front of the OpenAI-format simulator: it refuses OpenAI-only fields as Mistral does
 * (422, FastAPI's detail shape), takes tool_choice "any" (OpenAI's "required"), and reports usage on the
 * last chunk of every stream without being asked. What it forwards is the simulator's OpenAI answer,
 * which Mistral's matches. `bodies` holds what the gateway sent, as Mistral received it.
 */
async function mistralDialect(target: string): Promise<{ url: string; server: Server; bodies: Json[] }> {
  const bodies: Json[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      bodies.push(body);
      const extra = notMistral.find((field) => field in body);
      if (extra !== undefined) {
        const detail = [
          { type: 'extra_forbidden', loc: ['body', extra], msg: 'Extra inputs are not permitted' },
        ];
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ object: 'error', message: { detail }, type: 'invalid_request_message_error' }),
        );
        return;
      }
      const openAI: Json = { ...body };
      if (openAI['tool_choice'] === 'any') openAI['tool_choice'] = 'required';
      if (openAI['stream'] === true) openAI['stream_options'] = { include_usage: true };
      const out = httpRequest(`${target}${req.url ?? ''}`, { method: 'POST', headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        // A stream the simulator cuts is cut for the gateway too.
        up.on('close', () => {
          if (!up.complete) res.destroy();
        });
      });
      out.setHeader('content-length', Buffer.byteLength(JSON.stringify(openAI)));
      out.end(JSON.stringify(openAI));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, bodies };
}

/**
 * Anthropic's stream grammar: message_start, then blocks each opened, filled and closed in index order, then
 * message_delta and message_stop; ping may come anywhere in between.
 */
function assertEventGrammar(types: string[], indexes: number[]): void {
  assert.equal(types[0], 'message_start', types.join(' '));
  assert.equal(types.at(-2), 'message_delta', types.join(' '));
  assert.equal(types.at(-1), 'message_stop', types.join(' '));
  let open: number | undefined;
  let next = 0;
  for (let i = 1; i < types.length - 2; i++) {
    const type = types[i];
    const index = indexes[i];
    if (type === 'ping') continue;
    if (type === 'content_block_start') {
      assert.equal(open, undefined, `block ${index} starts while ${open} is open`);
      assert.equal(index, next++);
      open = index;
    } else if (type === 'content_block_delta' || type === 'content_block_stop') {
      assert.equal(index, open, `${type} for block ${index} while ${open} is open`);
      if (type === 'content_block_stop') open = undefined;
    } else {
      assert.fail(`unexpected ${type} at ${i}: ${types.join(' ')}`);
    }
  }
  assert.equal(open, undefined, 'every block is closed before message_delta');
  assert.ok(next > 0, 'at least one content block');
}

/** Streams a request, checking the event grammar, and returns the SDK's assembled message. */
async function streamed(
  client: Anthropic,
  params: Anthropic.MessageStreamParams,
): Promise<{ message: Anthropic.Message; types: string[] }> {
  const stream = client.messages.stream(params);
  const types: string[] = [];
  const indexes: number[] = [];
  for await (const event of stream) {
    types.push(event.type);
    indexes.push('index' in event ? event.index : -1);
  }
  assertEventGrammar(types, indexes);
  return { message: await stream.finalMessage(), types };
}

/** The message of a gateway error body, `{"type":"error","error":{"type","message"}}`. */
const messageOf = (error: InstanceType<typeof Anthropic.APIError>): string =>
  (error.error as { error: { message: string } }).error.message;

function assertText(message: Anthropic.Message): void {
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.equal(message.stop_reason, 'end_turn');
  assert.equal(message.content.length, 1);
  const block = message.content[0];
  assert.ok(block?.type === 'text', `a text block, got ${block?.type}`);
  assert.equal(block.text.trim().split(/\s+/).length, outputTokens);
  assert.equal(message.usage.output_tokens, outputTokens);
  assert.ok(message.usage.input_tokens > 0);
}

function assertWeatherCall(message: Anthropic.Message): void {
  assert.equal(message.stop_reason, 'tool_use');
  const uses = message.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 1);
  const use = uses[0] as Anthropic.ToolUseBlock;
  assert.equal(use.name, 'get_weather');
  assert.ok(use.id.length > 0);
  const input = use.input as Json;
  assert.ok(input !== null && typeof input === 'object' && !Array.isArray(input));
  assert.equal(typeof input['city'], 'string');
  assert.ok(input['unit'] === 'c' || input['unit'] === 'f', `unit ${String(input['unit'])}`);
}

describe('@anthropic-ai/sdk through /v1/messages to every provider kind', () => {
  const sims = new Map<Format, SimulatorHandle>();
  let mistral: Awaited<ReturnType<typeof mistralDialect>>;
  let gateway: TestGateway;
  let client: Anthropic;

  before(async () => {
    const formats = [...new Set(cases.map((c) => c.format))];
    for (const format of formats) {
      sims.set(
        format,
        await startSimulator({ format, port: 0, apiKey: providerKey, outputTokens, recordRequests: true }),
      );
    }
    mistral = await mistralDialect((sims.get('openai') as SimulatorHandle).url);
    const upstreamFor = (c: ProviderCase): string =>
      c.dialect === 'mistral' ? mistral.url : (sims.get(c.format) as SimulatorHandle).url;
    gateway = await startGateway({
      providers: cases.map((c) => ({
        name: c.kind,
        kind: c.kind,
        api_key: providerKey,
        ...c.config(upstreamFor(c)),
      })),
      models: cases.map((c) => ({ name: c.kind, targets: [{ provider: c.kind, model: c.model }] })),
      keys: [{ name: 'app', key: appKey }],
    });
    client = new Anthropic({ baseURL: gateway.url, apiKey: appKey, maxRetries: 0 });
  });

  after(async () => {
    await gateway?.close();
    mistral?.server.close();
    mistral?.server.closeAllConnections();
    for (const sim of sims.values()) await sim.close();
  });

  for (const c of cases) {
    describe(c.kind, () => {
      const sim = (): SimulatorHandle => sims.get(c.format) as SimulatorHandle;
      // What the provider received: the simulator's record, or for Mistral what its dialect layer got.
      const sent = (): Json =>
        (c.dialect === 'mistral' ? mistral.bodies.at(-1) : sim().stats.lastRequest?.body) as Json;
      const ask = (params: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) => ({
        model: c.kind,
        max_tokens: 100,
        messages: [{ role: 'user' as const, content: 'Hello' }],
        ...params,
      });

      test('non-stream text', async () => {
        const { data, response } = await client.messages.create(ask()).withResponse();
        assertText(data);
        assert.match(data.id, /^msg_/);
        assert.equal(response.headers.get('x-sluice-provider'), c.kind);
      });

      test('stream: the event sequence and the assembled message', async () => {
        const { message, types } = await streamed(client, ask());
        assertText(message);
        assert.ok(types.filter((t) => t === 'content_block_delta').length >= outputTokens);
      });

      test('forced tool use, non-stream and stream', async () => {
        const params = ask({
          tools: [weather, clock],
          tool_choice: { type: 'tool', name: 'get_weather' },
          messages: [{ role: 'user', content: 'Weather in Paris?' }],
        });
        assertWeatherCall(await client.messages.create(params));
        assert.deepEqual(c.forcedOf(sent()), c.forcedShape);
        const { message, types } = await streamed(client, params);
        assertWeatherCall(message);
        assert.ok(types.includes('content_block_delta'), 'the input arrives as input_json_delta events');
      });

      test('a tool result reaches the provider in its own shape', async () => {
        const message = await client.messages.create(ask({ tools: [weather], messages: toolRoundTrip }));
        assertText(message);
        assert.deepEqual(c.toolTurnsOf(sent()), c.toolTurnsShape);
      });

      test('max_tokens below the answer length stops with max_tokens', async () => {
        const message = await client.messages.create(ask({ max_tokens: 3 }));
        assert.equal(message.stop_reason, 'max_tokens');
        assert.equal(message.usage.output_tokens, 3);
        const { message: streamedMessage } = await streamed(client, ask({ max_tokens: 3 }));
        assert.equal(streamedMessage.stop_reason, 'max_tokens');
        assert.equal(streamedMessage.usage.output_tokens, 3);
      });

      test('the system prompt reaches the provider', async () => {
        assertText(await client.messages.create(ask({ system })));
        assert.deepEqual(c.systemOf(sent()), c.systemShape);
      });

      test('disable_parallel_tool_use: one call, or a 400 naming it', async () => {
        const params = ask({
          tools: [weather, clock],
          tool_choice: { type: 'any', disable_parallel_tool_use: true },
          messages: [{ role: 'user', content: 'Weather and time?' }],
        });
        if (c.refusesSingleToolCall === undefined) {
          const message = await client.messages.create(params);
          assert.equal(message.stop_reason, 'tool_use');
          assert.equal(message.content.filter((b) => b.type === 'tool_use').length, 1);
          return;
        }
        await assert.rejects(client.messages.create(params), (error: unknown) => {
          assert.ok(error instanceof Anthropic.BadRequestError);
          assert.match(messageOf(error), c.refusesSingleToolCall as RegExp);
          return true;
        });
      });

      test('thinking: the same blocks streamed and not, signatures sent back', async () => {
        const thinking = { type: 'enabled' as const, budget_tokens: 1024 };
        const params = ask({ max_tokens: 3000, thinking });
        if (c.thinking instanceof RegExp) {
          const refusal = c.thinking;
          await assert.rejects(client.messages.create(params), (error: unknown) => {
            assert.ok(error instanceof Anthropic.BadRequestError);
            assert.match(messageOf(error), refusal);
            return true;
          });
          return;
        }
        const whole = await client.messages.create(params);
        const { message } = await streamed(client, params);
        const blocksOf = (m: Anthropic.Message): Anthropic.ThinkingBlock[] =>
          m.content.filter((b): b is Anthropic.ThinkingBlock => b.type === 'thinking');
        const summary = (m: Anthropic.Message) => ({
          text: blocksOf(m)
            .map((b) => b.thinking)
            .join(''),
          signed: blocksOf(m).filter((b) => b.signature !== '').length,
          stop: m.stop_reason,
        });
        assert.deepEqual(summary(message), summary(whole));
        const { text, signed } = summary(whole);
        assert.equal(text === '', c.thinking === 'none', `thinking text: ${JSON.stringify(text)}`);
        assert.equal(signed > 0, c.thinking === 'signed');
        assert.equal(whole.stop_reason, 'end_turn');
        if (signed === 0) return;
        // The streamed turn goes back as the client got it: its signatures must reach the provider.
        await client.messages.create(
          ask({
            max_tokens: 3000,
            thinking,
            messages: [
              { role: 'user', content: 'Hello' },
              { role: 'assistant', content: message.content as Anthropic.ContentBlockParam[] },
              { role: 'user', content: 'Go on' },
            ],
          }),
        );
        const upstreamBody = JSON.stringify(sent());
        for (const block of blocksOf(message)) {
          if (block.signature !== '') assert.ok(upstreamBody.includes(block.signature), upstreamBody);
        }
      });

      test('an upstream 429 is a RateLimitError with its Retry-After', async () => {
        sim().setOptions({ rateLimitRate: 1, retryAfterSeconds: 7 });
        try {
          await assert.rejects(client.messages.create(ask()), (error: unknown) => {
            assert.ok(error instanceof Anthropic.RateLimitError, String(error));
            assert.equal((error.error as { error: { type: string } }).error.type, 'rate_limit_error');
            if (c.retryAfter !== false) assert.equal(error.headers?.get('retry-after'), '7');
            return true;
          });
        } finally {
          sim().setOptions({ rateLimitRate: 0 });
        }
      });

      test('an upstream overload is a 503 overloaded_error', async () => {
        sim().setOptions({ overloadRate: 1, retryAfterSeconds: 3 });
        try {
          for (const stream of [false, true]) {
            await assert.rejects(client.messages.create({ ...ask(), stream }), (error: unknown) => {
              assert.ok(error instanceof Anthropic.APIError, String(error));
              assert.equal(error.status, 503);
              assert.equal((error.error as { error: { type: string } }).error.type, 'overloaded_error');
              return true;
            });
          }
        } finally {
          sim().setOptions({ overloadRate: 0 });
        }
      });

      test('an upstream 500 is a 502 api_error; a stream cut midway raises in the SDK', async () => {
        sim().setOptions({ errorRate: 1 });
        try {
          await assert.rejects(client.messages.create(ask()), (error: unknown) => {
            assert.ok(error instanceof Anthropic.APIError, String(error));
            assert.equal(error.status, 502);
            assert.equal((error.error as { error: { type: string } }).error.type, 'api_error');
            return true;
          });
          sim().setOptions({ errorRate: 0, streamCutRate: 1 });
          await assert.rejects(client.messages.stream(ask()).finalMessage(), (error: unknown) => {
            assert.ok(error instanceof Anthropic.APIError, String(error));
            assert.match(error.message, /cut the stream|ended the stream early/);
            return true;
          });
        } finally {
          sim().setOptions({ errorRate: 0, streamCutRate: 0 });
        }
      });
    });
  }
});
