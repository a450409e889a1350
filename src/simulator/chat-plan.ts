// Chat completion requests: validation as OpenAI does it, then a plan of what each choice will say, shared by
// the non-stream body (chat.ts) and the stream (chat-stream.ts).
import type { SimulatorContext } from './context.js';
import { estimateTokens, nextToken, tokensForChars, TOKENS } from './engine.js';
import { invalidRequest, invalidType, invalidValue, missingParameter } from './errors.js';
import { nextId } from './exchange.js';
import { isAbsent, isObject, requireModel } from './request.js';
import type { JsonObject as Json } from './request.js';
import { Random, hashString, mixSeed } from './random.js';
import { sampleSchema } from './schema.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ChoicePlan =
  /** Words drawn from `rng` as they are sent, so long streams never hold their text. */
  | { kind: 'text'; rng: Random; tokens: number; finish: FinishReason }
  /** JSON content, already cut into the pieces a stream sends. */
  | { kind: 'json'; pieces: string[]; finish: FinishReason }
  | { kind: 'tools'; calls: ToolCall[]; finish: 'tool_calls' };

export interface ChatPlan {
  id: string;
  created: number;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  promptTokens: number;
  completionTokens: number;
  choices: ChoicePlan[];
}

export const SYSTEM_FINGERPRINT = 'fp_51c0de5e7a';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const MAX_CHOICES = 128;

/** Validates `messages` and returns their content length and a hash of it, which seeds the reply. */
function readMessages(body: Json, model: string): { chars: number; hash: number } {
  const messages = body['messages'];
  if (isAbsent(messages)) throw missingParameter('messages');
  if (!Array.isArray(messages)) throw invalidType('messages', 'an array', messages);
  if (messages.length === 0) {
    throw invalidRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  let chars = 0;
  let hash = hashString(model);
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (!isObject(message)) throw invalidType(`messages[${i}]`, 'an object', message);
    const role = message['role'];
    if (isAbsent(role)) throw missingParameter(`messages[${i}].role`);
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw invalidRequest(
        `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', ` +
          "'tool', and 'developer'.",
        `messages[${i}].role`,
        'invalid_value',
      );
    }
    const content = message['content'];
    if (typeof content === 'string') {
      chars += content.length;
      hash = hashString(content, hash);
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (isObject(part) && typeof part['text'] === 'string') {
          chars += part['text'].length;
          hash = hashString(part['text'], hash);
        }
      }
    } else if (!isAbsent(content)) {
      throw invalidType(`messages[${i}].content`, 'a string or an array', content);
    }
  }
  return { chars, hash };
}

function readPositiveInteger(body: Json, param: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = body[param];
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidType(param, 'an integer', value);
  if (value < 1) {
    throw invalidRequest(
      `Invalid '${param}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
      param,
      'integer_below_min_value',
    );
  }
  if (value > max) {
    throw invalidRequest(
      `Invalid '${param}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      param,
      'integer_above_max_value',
    );
  }
  return value;
}

interface FunctionTool {
  name: string;
  parameters: unknown;
}

function readTools(body: Json): FunctionTool[] {
  const tools = body['tools'];
  if (isAbsent(tools)) return [];
  if (!Array.isArray(tools)) throw invalidType('tools', 'an array', tools);
  const functions: FunctionTool[] = [];
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i];
    if (!isObject(tool)) throw invalidType(`tools[${i}]`, 'an object', tool);
    if (tool['type'] !== 'function') continue;
    const fn = tool['function'];
    if (!isObject(fn)) throw missingParameter(`tools[${i}].function`);
    if (typeof fn['name'] !== 'string' || fn['name'] === '')
      throw missingParameter(`tools[${i}].function.name`);
    functions.push({ name: fn['name'], parameters: fn['parameters'] });
  }
  return functions;
}

/** The tools the reply calls: none unless tool_choice forces a call ("auto" always answers in text). */
function toolsToCall(body: Json, tools: FunctionTool[]): FunctionTool[] {
  const choice = body['tool_choice'];
  if (isAbsent(choice) || choice === 'none' || choice === 'auto') return [];
  if (tools.length === 0) {
    throw invalidValue('tool_choice', "'tool_choice' is only allowed when 'tools' are specified.");
  }
  if (choice === 'required') {
    return body['parallel_tool_calls'] === false ? tools.slice(0, 1) : tools;
  }
  if (isObject(choice) && choice['type'] === 'function' && isObject(choice['function'])) {
    const name = choice['function']['name'];
    const tool = tools.find((t) => t.name === name);
    if (tool === undefined) {
      throw invalidValue('tool_choice', `function '${String(name)}' was not found in 'tools'.`);
    }
    return [tool];
  }
  throw invalidValue('tool_choice', "expected 'none', 'auto', 'required' or a named function.");
}

/** undefined for plain text; otherwise the schema the JSON content must satisfy (`{}` for json_object). */
function readResponseFormat(body: Json): { schema: unknown; object: boolean } | undefined {
  const format = body['response_format'];
  if (isAbsent(format)) return undefined;
  if (!isObject(format)) throw invalidType('response_format', 'an object', format);
  switch (format['type']) {
    case 'text':
      return undefined;
    case 'json_object':
      return { schema: undefined, object: true };
    case 'json_schema': {
      const spec = format['json_schema'];
      if (!isObject(spec)) throw missingParameter('response_format.json_schema');
      return { schema: spec['schema'] ?? { type: 'object' }, object: false };
    }
    default:
      throw invalidValue('response_format.type', "expected 'text', 'json_object' or 'json_schema'.");
  }
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function toolCallId(rng: Random): string {
  let id = 'call_';
  for (let i = 0; i < 24; i++) id += ID_ALPHABET[rng.int(ID_ALPHABET.length)];
  return id;
}

/** JSON content as a stream would send it: `{"text":"` + words + `"}` for json_object, else in small slices. */
function jsonPieces(format: { schema: unknown; object: boolean }, rng: Random, tokens: number): string[] {
  if (format.object) {
    const pieces = ['{"text":"'];
    for (let i = 0; i < Math.max(1, tokens - 2); i++) pieces.push(TOKENS[nextToken(rng)] as string);
    pieces.push('"}');
    return pieces;
  }
  return slices(JSON.stringify(sampleSchema(format.schema, rng)), 8);
}

export function slices(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length > 0 ? pieces : [''];
}

export function planChat(body: unknown, ctx: SimulatorContext): ChatPlan {
  if (!isObject(body)) throw invalidRequest('Invalid request body: expected a JSON object.');
  const model = requireModel(body);
  const { chars, hash } = readMessages(body, model);
  const n = readPositiveInteger(body, 'n', MAX_CHOICES) ?? 1;
  const stream = body['stream'];
  if (!isAbsent(stream) && typeof stream !== 'boolean') throw invalidType('stream', 'a boolean', stream);
  const streamOptions = body['stream_options'];
  let includeUsage = false;
  if (!isAbsent(streamOptions)) {
    if (stream !== true) {
      throw invalidRequest(
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        'stream_options',
        'invalid_value',
      );
    }
    if (!isObject(streamOptions)) throw invalidType('stream_options', 'an object', streamOptions);
    includeUsage = streamOptions['include_usage'] === true;
  }
  const cap = readPositiveInteger(body, 'max_completion_tokens') ?? readPositiveInteger(body, 'max_tokens');
  const calls = toolsToCall(body, readTools(body));
  const format = readResponseFormat(body);

  const configured = ctx.options.outputTokens;
  const tokens = cap !== undefined && cap < configured ? cap : configured;
  const finish: FinishReason = tokens < configured ? 'length' : 'stop';
  const contentSeed = mixSeed(ctx.options.seed, hash);
  const choices: ChoicePlan[] = [];
  let completionTokens = 0;
  for (let i = 0; i < n; i++) {
    // Each choice has its own stream of draws, so a seed and a prompt always give the same text per choice.
    const rng = new Random(mixSeed(contentSeed, i));
    if (calls.length > 0) {
      const planned = calls.map((tool) => ({
        id: toolCallId(rng),
        name: tool.name,
        arguments: JSON.stringify(sampleSchema(tool.parameters ?? { type: 'object' }, rng)),
      }));
      for (const call of planned) completionTokens += estimateTokens(call.name + call.arguments);
      choices.push({ kind: 'tools', calls: planned, finish: 'tool_calls' });
    } else if (format !== undefined) {
      const pieces = jsonPieces(format, rng, tokens);
      completionTokens += format.object ? pieces.length : estimateTokens(pieces.join(''));
      choices.push({ kind: 'json', pieces, finish: format.object ? finish : 'stop' });
    } else {
      completionTokens += tokens;
      choices.push({ kind: 'text', rng, tokens, finish });
    }
  }
  return {
    id: 'chatcmpl-' + nextId(),
    created: Math.floor(Date.now() / 1000),
    model,
    stream: stream === true,
    includeUsage,
    promptTokens: tokensForChars(chars),
    completionTokens,
    choices,
  };
}

export function usageOf(plan: ChatPlan): object {
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: plan.completionTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}
