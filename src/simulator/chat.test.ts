import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postJson, simulator, user } from './test-helpers.js';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        days: { type: 'integer' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        detailed: { type: 'boolean' },
      },
      required: ['city', 'days', 'unit', 'detailed'],
      additionalProperties: false,
    },
  },
};

const timeTool = {
  type: 'function' as const,
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};

test('a non-stream completion has the shape OpenAI gives it', async (t) => {
  const { client } = await simulator(t, { outputTokens: 12 });
  const { data: completion, response } = await client.chat.completions
    .create({ model: 'my-model', messages: user('Say something, please.') })
    .withResponse();
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.match(response.headers.get('x-request-id') ?? '', /^req_/);
  assert.match(response.headers.get('openai-processing-ms') ?? '', /^\d+$/);
  assert.match(completion.id, /^chatcmpl-/);
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, 'my-model');
  assert.ok(Math.abs(completion.created - Date.now() / 1000) < 60);
  assert.equal(completion.service_tier, 'default');
  assert.match(completion.system_fingerprint ?? '', /^fp_/);
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.ok(choice);
  assert.equal(choice.index, 0);
  assert.equal(choice.finish_reason, 'stop');
  assert.equal(choice.logprobs, null);
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.refusal, null);
  assert.deepEqual(choice.message.annotations, []);
  assert.equal(choice.message.content?.split(' ').length, 13);
  assert.deepEqual(completion.usage, {
    prompt_tokens: 6, // ceil(22 characters / 4)
    completion_tokens: 12,
    total_tokens: 18,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  });
});

test('max_completion_tokens and max_tokens cap the length with finish_reason length', async (t) => {
  const { client } = await simulator(t, { outputTokens: 10 });
  const capped = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('hi'),
    max_completion_tokens: 4,
  });
  assert.equal(capped.choices[0]?.finish_reason, 'length');
  assert.equal(capped.usage?.completion_tokens, 4);
  assert.equal(capped.choices[0]?.message.content?.trim().split(' ').length, 4);
  const legacy = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('hi'),
    max_tokens: 3,
  });
  assert.equal(legacy.usage?.completion_tokens, 3);
  const roomy = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('hi'),
    max_tokens: 10,
  });
  assert.equal(roomy.choices[0]?.finish_reason, 'stop');
  assert.equal(roomy.usage?.completion_tokens, 10);
});

test('n gives n distinct choices and counts all their tokens', async (t) => {
  const { client } = await simulator(t, { outputTokens: 8 });
  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('hi'),
    n: 3,
  });
  assert.deepEqual(
    completion.choices.map((c) => c.index),
    [0, 1, 2],
  );
  assert.equal(new Set(completion.choices.map((c) => c.message.content)).size, 3);
  assert.equal(completion.usage?.completion_tokens, 24);
});

test('the same seed and prompt give the same text; another seed does not', async (t) => {
  const texts = async (seed: number): Promise<string[]> => {
    const { client } = await simulator(t, { seed });
    const out: string[] = [];
    for (const prompt of ['one', 'two']) {
      const completion = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: user(prompt),
      });
      out.push(completion.choices[0]?.message.content ?? '');
    }
    return out;
  };
  const first = await texts(7);
  assert.deepEqual(await texts(7), first);
  assert.notEqual(first[0], first[1]);
  assert.notDeepEqual(await texts(8), first);
});

test('tool_choice required answers with a call whose arguments satisfy the schema', async (t) => {
  const { client } = await simulator(t);
  const completion = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('Weather in Paris?'),
    tools: [weatherTool],
    tool_choice: 'required',
  });
  const choice = completion.choices[0];
  assert.equal(choice?.finish_reason, 'tool_calls');
  assert.equal(choice?.message.content, null);
  const calls = choice?.message.tool_calls ?? [];
  assert.equal(calls.length, 1);
  const call = calls[0];
  assert.ok(call?.type === 'function');
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
  assert.equal(typeof args['city'], 'string');
  assert.ok(Number.isInteger(args['days']));
  assert.equal(args['unit'], 'celsius');
  assert.equal(args['detailed'], true);
  assert.ok((completion.usage?.completion_tokens ?? 0) > 0);
});

test('a named tool_choice calls that tool; required with parallel calls calls every tool', async (t) => {
  const { client } = await simulator(t);
  const named = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('What time is it?'),
    tools: [weatherTool, timeTool],
    tool_choice: { type: 'function', function: { name: 'get_time' } },
  });
  const namedCalls = named.choices[0]?.message.tool_calls ?? [];
  assert.deepEqual(
    namedCalls.map((c) => (c.type === 'function' ? c.function.name : c.type)),
    ['get_time'],
  );
  const parallel = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('Both, please.'),
    tools: [weatherTool, timeTool],
    tool_choice: 'required',
  });
  const calls = parallel.choices[0]?.message.tool_calls ?? [];
  assert.deepEqual(
    calls.map((c) => (c.type === 'function' ? c.function.name : c.type)),
    ['get_weather', 'get_time'],
  );
  assert.equal(new Set(calls.map((c) => c.id)).size, 2);
  const single = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('One, please.'),
    tools: [weatherTool, timeTool],
    tool_choice: 'required',
    parallel_tool_calls: false,
  });
  assert.equal(single.choices[0]?.message.tool_calls?.length, 1);
  const auto = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('Chat.'),
    tools: [weatherTool],
  });
  assert.equal(auto.choices[0]?.finish_reason, 'stop');
  assert.equal(typeof auto.choices[0]?.message.content, 'string');
});

test('response_format json_object and json_schema give valid JSON content', async (t) => {
  const { client } = await simulator(t);
  const object = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('JSON please'),
    response_format: { type: 'json_object' },
  });
  const parsed: unknown = JSON.parse(object.choices[0]?.message.content ?? '');
  assert.equal(typeof parsed, 'object');
  const schema = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: user('A person'),
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'person',
        strict: true,
        schema: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            age: { type: 'integer' },
            tags: { type: 'array', items: {} },
          },
          required: ['name', 'age', 'tags'],
          additionalProperties: false,
        },
      },
    },
  });
  const person = JSON.parse(schema.choices[0]?.message.content ?? '') as Record<string, unknown>;
  assert.equal(typeof person['name'], 'string');
  assert.equal(typeof person['age'], 'number');
  assert.ok(Array.isArray(person['tags']));
});

test('invalid requests get 400 invalid_request_error naming the parameter', async (t) => {
  const { sim, client } = await simulator(t);
  const badJson = await postJson(sim, '/v1/chat/completions', '{"model": "gpt-4o-mini", ');
  assert.equal(badJson.status, 400);
  assert.deepEqual(Object.keys(badJson.json as object), ['error']);
  const error = (badJson.json as { error: Record<string, unknown> }).error;
  assert.equal(error['type'], 'invalid_request_error');
  assert.match(error['message'] as string, /could not parse the JSON body/);
  assert.equal(error['param'], null);

  const cases: [unknown, string][] = [
    [{ messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    [{ model: 42, messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    [{ model: 'm' }, 'messages'],
    [{ model: 'm', messages: [] }, 'messages'],
    [{ model: 'm', messages: 'hi' }, 'messages'],
    [{ model: 'm', messages: [{ content: 'hi' }] }, 'messages[0].role'],
    [{ model: 'm', messages: [{ role: 'robot', content: 'hi' }] }, 'messages[0].role'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], n: 0 }, 'n'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 'lots' }, 'max_tokens'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], tool_choice: 'required' }, 'tool_choice'],
    [{ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream_options: {} }, 'stream_options'],
  ];
  for (const [body, param] of cases) {
    const { status, json } = await postJson(sim, '/v1/chat/completions', body);
    assert.equal(status, 400, JSON.stringify(body));
    const err = (json as { error: Record<string, unknown> }).error;
    assert.equal(err['type'], 'invalid_request_error');
    assert.equal(err['param'], param, JSON.stringify(body));
  }

  // The SDK surfaces the same errors as BadRequestError with the param.
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }), {
    status: 400,
    param: 'messages',
    type: 'invalid_request_error',
  });
});
