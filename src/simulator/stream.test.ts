import assert from 'node:assert/strict';
import { test } from 'node:test';
import type OpenAI from 'openai';
import { simulator, user, waitFor } from './test-helpers.js';

type Chunk = OpenAI.Chat.ChatCompletionChunk;

test('a stream with include_usage sends role, tokens, finish, usage, then ends', async (t) => {
  const { client } = await simulator(t, { outputTokens: 9 });
  const { data: stream, response } = await client.chat.completions
    .create({
      model: 'gpt-4o-mini',
      messages: user('Stream it'),
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-cache');
  const chunks: Chunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);

  assert.equal(chunks.length, 1 + 9 + 1 + 1);
  const ids = new Set(chunks.map((c) => c.id));
  assert.equal(ids.size, 1);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-4o-mini'));
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '', refusal: null });
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.equal(text.split(' ').length, 10);
  const finish = chunks.at(-2);
  assert.equal(finish?.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(finish?.choices[0]?.delta, {});
  const usageChunk = chunks.at(-1);
  assert.deepEqual(usageChunk?.choices, []);
  assert.equal(usageChunk?.usage?.completion_tokens, 9);
  assert.equal(usageChunk?.usage?.total_tokens, (usageChunk?.usage?.prompt_tokens ?? 0) + 9);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));

  // The stream says what the non-stream reply says for the same prompt.
  const whole = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('Stream it') });
  assert.equal(whole.choices[0]?.message.content, text);
});

test('without include_usage there is no usage field; capping finishes with length', async (t) => {
  const { client } = await simulator(t, { outputTokens: 9 });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('hi'),
    stream: true,
    max_tokens: 2,
  });
  const chunks: Chunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(chunks.length, 1 + 2 + 1);
  assert.ok(chunks.every((c) => !('usage' in c)));
  assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length');
});

test('streamed tool calls accumulate in the SDK into parseable arguments', async (t) => {
  const { client } = await simulator(t);
  const stream = client.chat.completions.stream({
    model: 'gpt-4o-mini',
    messages: user('Weather and time'),
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string' }, days: { type: 'number' }, hourly: { type: 'boolean' } },
            required: ['city', 'days', 'hourly'],
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
    ],
    tool_choice: 'required',
  });
  let fragments = 0;
  const chunks: Chunk[] = [];
  stream.on('chunk', (chunk) => {
    chunks.push(chunk);
    if (chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments) fragments++;
  });
  const completion = await stream.finalChatCompletion();
  const choice = completion.choices[0];
  assert.equal(choice?.finish_reason, 'tool_calls');
  const calls = choice?.message.tool_calls ?? [];
  assert.equal(calls.length, 2);
  const [weather, time] = calls;
  assert.ok(weather?.type === 'function' && time?.type === 'function');
  assert.equal(weather.function.name, 'get_weather');
  assert.match(weather.id, /^call_/);
  const args = JSON.parse(weather.function.arguments) as Record<string, unknown>;
  assert.equal(typeof args['city'], 'string');
  assert.equal(typeof args['days'], 'number');
  assert.equal(args['hourly'], true);
  assert.equal(typeof (JSON.parse(time.function.arguments) as Record<string, unknown>)['zone'], 'string');
  assert.ok(fragments > 2, 'arguments arrive in several fragments');
  // The first delta opens the call as OpenAI does: role, index, id, type, name and empty arguments.
  assert.deepEqual(chunks[0]?.choices[0]?.delta, {
    role: 'assistant',
    content: null,
    refusal: null,
    tool_calls: [
      { index: 0, id: weather.id, type: 'function', function: { name: 'get_weather', arguments: '' } },
    ],
  });
});

test('a stream with n choices interleaves them by index and matches the non-stream reply', async (t) => {
  const { client } = await simulator(t, { outputTokens: 5 });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('two'),
    n: 2,
    stream: true,
  });
  const texts = ['', ''];
  const finishes: (string | null)[] = [null, null];
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      texts[choice.index] += choice.delta.content ?? '';
      if (choice.finish_reason) finishes[choice.index] = choice.finish_reason;
    }
  }
  assert.deepEqual(finishes, ['stop', 'stop']);
  const whole = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('two'), n: 2 });
  assert.deepEqual(
    whole.choices.map((c) => c.message.content),
    texts,
  );
});

test('a streamed json_object reply joins into valid JSON', async (t) => {
  const { client } = await simulator(t);
  const stream = client.chat.completions.stream({
    model: 'gpt-4o-mini',
    messages: user('json'),
    response_format: { type: 'json_object' },
  });
  const completion = await stream.finalChatCompletion();
  assert.equal(typeof JSON.parse(completion.choices[0]?.message.content ?? ''), 'object');
});

test('a cut stream never ends cleanly with a finish_reason', async (t) => {
  const { sim, client } = await simulator(t, { streamCutRate: 1, outputTokens: 20 });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('cut'),
    stream: true,
  });
  const chunks: Chunk[] = [];
  let failed = false;
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch {
    failed = true;
  }
  const finished = chunks.some((c) => c.choices[0]?.finish_reason);
  assert.ok(failed || !finished, 'the stream must not end cleanly with a finish_reason');
  assert.ok(!finished);
  assert.ok(chunks.length > 2 && chunks.length < 21, `about half the tokens arrive (${chunks.length})`);
  assert.ok(await waitFor(() => sim.stats.streamsCut === 1, 1000));
  assert.equal(sim.stats.aborted, 0);
  assert.equal(sim.stats.inFlight, 0);
});

test('a client that leaves mid-stream is counted as aborted and generation stops', async (t) => {
  const { sim, client } = await simulator(t, { tokensPerSecond: 20, outputTokens: 200 });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('long'),
    stream: true,
  });
  for await (const chunk of stream) {
    assert.ok(chunk.choices[0]);
    break; // leaving the loop aborts the request
  }
  assert.ok(await waitFor(() => sim.stats.aborted === 1, 1000), 'aborted within 1 s');
  assert.ok(await waitFor(() => sim.stats.inFlight === 0, 1000));
  assert.equal(sim.stats.completed, 0);
});

test('ttft delays the first token but not the headers', async (t) => {
  const ttftMs = 300;
  const { client } = await simulator(t, { ttftMs });
  const started = performance.now();
  const { data: stream } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: user('ttft'), stream: true })
    .withResponse();
  const headersAt = performance.now() - started;
  let firstTokenAt = 0;
  for await (const chunk of stream) {
    if (firstTokenAt === 0 && chunk.choices[0]?.delta.content) firstTokenAt = performance.now() - started;
  }
  assert.ok(headersAt < ttftMs, `headers after ${headersAt} ms`);
  assert.ok(
    firstTokenAt >= ttftMs - 5 && firstTokenAt < ttftMs + 1000,
    `first token after ${firstTokenAt} ms`,
  );

  const nonStreamStarted = performance.now();
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages: user('ttft') });
  const total = performance.now() - nonStreamStarted;
  assert.ok(total >= ttftMs - 5 && total < ttftMs + 1000, `non-stream reply after ${total} ms`);
});

test('tokens per second paces a stream', async (t) => {
  const { client } = await simulator(t, { tokensPerSecond: 100, outputTokens: 21 });
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('pace'),
    stream: true,
  });
  let tokens = 0;
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content) tokens++;
  const elapsed = performance.now() - started;
  assert.equal(tokens, 21);
  // 20 intervals of 10 ms after the first token.
  assert.ok(elapsed >= 190 && elapsed < 1500, `21 tokens at 100/s took ${elapsed} ms`);
});
