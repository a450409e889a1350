// POST /v2/chat requests: validation as Cohere words it, then a plan of the answer shared by the JSON body and
// the stream. Same behaviour as the OpenAI format: tool_choice REQUIRED answers with a call per tool, arguments
// satisfying each tool's schema; response_format json_object answers JSON (satisfying json_schema when given);
// otherwise `outputTokens` words, cut at max_tokens with finish_reason MAX_TOKENS.
import type { SimulatorContext } from '../context.js';
import { estimateTokens, nextToken, tokensForChars, TOKENS } from '../engine.js';
import { Random, hashString, mixSeed } from '../random.js';
import { isAbsent, isObject } from '../request.js';
import type { JsonObject as Json } from '../request.js';
import { sampleSchema } from '../schema.js';
import { cohereId, invalidRequest } from './errors.js';

export type CohereFinish = 'COMPLETE' | 'MAX_TOKENS' | 'TOOL_CALL';

export interface CohereToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type CohereAnswer =
  /** Words drawn from `rng` as they are sent, so long streams never hold their text. */
  | { kind: 'text'; rng: Random; tokens: number }
  /** JSON text, already cut into the pieces a stream sends. */
  | { kind: 'json'; pieces: string[] }
  | { kind: 'tools'; plan: string; calls: CohereToolCall[] };

export interface CohereChatPlan {
  id: string;
  model: string;
  stream: boolean;
  /** Reasoning words before the answer, when `thinking` is enabled (Command A Reasoning). */
  thinking: string | undefined;
  answer: CohereAnswer;
  finish: CohereFinish;
  /** What Cohere bills: the prompt as sent. */
  inputTokens: number;
  outputTokens: number;
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
/** The tokens Cohere's chat template adds around a prompt: `usage.tokens` counts them, the bill does not. */
export const TEMPLATE_TOKENS = 60;
const JSON_SLICE = 8;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function textOf(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (isAbsent(content)) return '';
  if (!Array.isArray(content))
    throw invalidRequest(`${at}.content must be a string or a list of content items`);
  let text = '';
  content.forEach((item: unknown, i) => {
    if (!isObject(item)) throw invalidRequest(`${at}.content[${i}] must be an object`);
    const type = item['type'];
    if (type === 'text' && typeof item['text'] === 'string') text += item['text'];
    else if (type === 'thinking' && typeof item['thinking'] === 'string') text += item['thinking'];
    else if (type === 'image_url' || type === 'document') return;
    else throw invalidRequest(`${at}.content[${i}]: unsupported content type ${JSON.stringify(type)}`);
  });
  return text;
}

/** Validates `messages`; returns the prompt's length and a hash of it, which seeds the answer. */
function readMessages(body: Json, model: string): { chars: number; hash: number } {
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('messages must not be empty');
  let chars = 0;
  let hash = hashString(model);
  let conversationStarted = false;
  messages.forEach((message: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isObject(message)) throw invalidRequest(`${at} must be an object`);
    const role = message['role'];
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw invalidRequest(
        `invalid role ${JSON.stringify(role)} at ${at}: must be one of user, assistant, system, tool`,
      );
    }
    if (role === 'system' && conversationStarted) {
      throw invalidRequest('system turn must be the first in the list');
    }
    if (role !== 'system') conversationStarted = true;
    if (role === 'tool' && typeof message['tool_call_id'] !== 'string') {
      throw invalidRequest(`${at}.tool_call_id is required for tool messages`);
    }
    const text = textOf(message['content'], at);
    const plan = message['tool_plan'];
    if (typeof plan === 'string') hash = hashString(plan, hash);
    if (
      role !== 'assistant' &&
      text === '' &&
      !(Array.isArray(message['content']) && message['content'].length > 0)
    ) {
      throw invalidRequest('message must not be empty in a turn');
    }
    chars += text.length;
    hash = hashString(text, hash);
  });
  return { chars, hash };
}

interface Tool {
  name: string;
  parameters: unknown;
}

function readTools(body: Json): Tool[] {
  const tools = body['tools'];
  if (isAbsent(tools)) return [];
  if (!Array.isArray(tools)) throw invalidRequest('tools must be a list');
  return tools.map((tool: unknown, i) => {
    const fn = isObject(tool) ? tool['function'] : undefined;
    if (!isObject(tool) || tool['type'] !== 'function' || !isObject(fn)) {
      throw invalidRequest(`tools[${i}] must be {"type": "function", "function": {...}}`);
    }
    if (typeof fn['name'] !== 'string' || fn['name'] === '') {
      throw invalidRequest(`tools[${i}].function.name must be a non-empty string`);
    }
    return { name: fn['name'], parameters: fn['parameters'] };
  });
}

function readMaxTokens(body: Json): number | undefined {
  const value = body['max_tokens'];
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidRequest('max_tokens must be a positive integer');
  }
  return value;
}

function readFormat(body: Json): { schema: unknown } | undefined {
  const format = body['response_format'];
  if (isAbsent(format)) return undefined;
  if (!isObject(format)) throw invalidRequest('response_format must be an object');
  if (format['type'] === 'text') return undefined;
  if (format['type'] !== 'json_object') {
    throw invalidRequest('response_format.type must be one of "text", "json_object"');
  }
  return { schema: format['json_schema'] };
}

function readThinkingBudget(body: Json): number | undefined {
  const thinking = body['thinking'];
  if (isAbsent(thinking)) return undefined;
  if (!isObject(thinking) || (thinking['type'] !== 'enabled' && thinking['type'] !== 'disabled')) {
    throw invalidRequest('thinking.type must be one of "enabled", "disabled"');
  }
  if (thinking['type'] === 'disabled') return undefined;
  const budget = thinking['token_budget'];
  if (isAbsent(budget)) return Number.MAX_SAFE_INTEGER;
  if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1) {
    throw invalidRequest('thinking.token_budget must be a positive integer');
  }
  return budget;
}

function toolCallId(name: string, rng: Random): string {
  let id = `${name}_`;
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[rng.int(ID_ALPHABET.length)];
  return id;
}

function words(rng: Random, count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += TOKENS[nextToken(rng)] as string;
  return text;
}

function slices(text: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += JSON_SLICE) pieces.push(text.slice(i, i + JSON_SLICE));
  return pieces.length > 0 ? pieces : [''];
}

export function planCohereChat(body: unknown, ctx: SimulatorContext): CohereChatPlan {
  if (!isObject(body)) throw invalidRequest('request body must be a JSON object');
  const model = body['model'];
  if (typeof model !== 'string' || model === '') throw invalidRequest('model must be a non-empty string');
  const { chars, hash } = readMessages(body, model);
  const stream = body['stream'];
  if (!isAbsent(stream) && typeof stream !== 'boolean') throw invalidRequest('stream must be a boolean');
  const tools = readTools(body);
  const toolChoice = body['tool_choice'];
  if (!isAbsent(toolChoice) && toolChoice !== 'REQUIRED' && toolChoice !== 'NONE') {
    throw invalidRequest('tool_choice must be one of "REQUIRED", "NONE"');
  }
  if (toolChoice === 'REQUIRED' && tools.length === 0) {
    throw invalidRequest('tool_choice REQUIRED requires tools to be specified');
  }
  const format = readFormat(body);
  if (format !== undefined && tools.length > 0) {
    throw invalidRequest('response_format is not supported with tools');
  }
  const cap = readMaxTokens(body);
  const budget = readThinkingBudget(body);

  const rng = new Random(mixSeed(ctx.options.seed, hash));
  const configured = ctx.options.outputTokens;
  const tokens = cap !== undefined && cap < configured ? cap : configured;
  // Reasoning comes first and counts towards output: a few words, within the budget.
  const thinkingTokens = budget === undefined ? 0 : Math.min(budget, 8);
  const thinking = thinkingTokens > 0 ? words(rng, thinkingTokens) : undefined;

  let answer: CohereAnswer;
  let outputTokens = thinkingTokens;
  let finish: CohereFinish = tokens < configured ? 'MAX_TOKENS' : 'COMPLETE';
  if (toolChoice === 'REQUIRED') {
    const calls = tools.map((tool) => ({
      id: toolCallId(tool.name, rng),
      name: tool.name,
      arguments: JSON.stringify(sampleSchema(tool.parameters ?? { type: 'object' }, rng)),
    }));
    const plan = `I will use ${calls.map((call) => call.name).join(' and ')}.`;
    for (const call of calls) outputTokens += estimateTokens(call.name + call.arguments);
    outputTokens += estimateTokens(plan);
    answer = { kind: 'tools', plan, calls };
    finish = 'TOOL_CALL';
  } else if (format !== undefined) {
    const text =
      format.schema === undefined
        ? JSON.stringify({ text: words(rng, Math.max(1, tokens - 2)).trim() })
        : JSON.stringify(sampleSchema(format.schema, rng));
    outputTokens += estimateTokens(text);
    answer = { kind: 'json', pieces: slices(text) };
    finish = 'COMPLETE';
  } else {
    outputTokens += tokens;
    answer = { kind: 'text', rng, tokens };
  }
  return {
    id: cohereId(),
    model,
    stream: stream === true,
    thinking,
    answer,
    finish,
    inputTokens: tokensForChars(chars),
    outputTokens,
  };
}

/** Cohere's usage object: the bill, the tokens the model saw (template included), the cache. */
export function cohereUsage(plan: CohereChatPlan): object {
  return {
    billed_units: { input_tokens: plan.inputTokens, output_tokens: plan.outputTokens },
    tokens: { input_tokens: plan.inputTokens + TEMPLATE_TOKENS, output_tokens: plan.outputTokens },
    cached_tokens: 0,
  };
}
