// POST /v1/messages: validation in Anthropic's words, then a plan of the answer's content blocks, shared by
// the non-stream body (message.ts) and the stream (stream.ts). What the answer holds mirrors the real API:
// a forced tool choice (any / tool) → tool_use blocks whose input satisfies the tool's input_schema (one per
// tool for any, unless disable_parallel_tool_use); output_config.format json_schema → JSON text satisfying
// the schema; thinking enabled → a signed thinking block first; otherwise text of outputTokens tokens,
// capped by max_tokens (stop_reason max_tokens) or cut at the first stop sequence it produces.
import type { SimulatorContext } from '../context.js';
import { TOKENS, estimateTokens, nextToken, tokensForChars } from '../engine.js';
import { nextId } from '../exchange.js';
import { Random, hashString, mixSeed } from '../random.js';
import { isAbsent, isObject, type JsonObject as Json } from '../request.js';
import { sampleSchema } from '../schema.js';
import { fieldRequired, invalidRequest } from './errors.js';
import { MAX_BREAKPOINTS, PromptCache, type Breakpoint, type CacheUsage } from './prompt-cache.js';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export type BlockPlan =
  /** Text drawn from `rng` as it is sent, so long streams never hold their text. */
  | { kind: 'text'; rng: Random; tokens: number }
  /** Text known in advance (JSON output, text cut at a stop sequence), in the pieces a stream sends. */
  | { kind: 'fixed-text'; pieces: string[] }
  | { kind: 'thinking'; pieces: string[]; signature: string }
  /** `input` is the JSON text a stream sends in pieces; `value` the object a whole message holds. */
  | { kind: 'tool'; id: string; name: string; input: string; value: unknown };

export interface MessagePlan {
  id: string;
  model: string;
  stream: boolean;
  blocks: BlockPlan[];
  stopReason: StopReason;
  stopSequence: string | null;
  usage: CacheUsage & { outputTokens: number };
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE64_ALPHABET = ID_ALPHABET + '+/';
const MIN_THINKING_BUDGET = 1024;
/**
 * API version 2026-10-21 (https://platform.claude.com/docs/en/api/migration-2026-10-21) removed the sampling
 * parameters and refuses document blocks in assistant turns and citations on text in user turns.
 */
const STRICT_VERSION = '2026-10-21';
const REMOVED_PARAMETERS = ['temperature', 'top_p', 'top_k'];

/** Whether `version` is 2026-10-21 or later (versions are dates, so they compare as strings). */
export const isStrictVersion = (version: string): boolean => version >= STRICT_VERSION;

function randomId(prefix: string, rng: Random, length = 24, alphabet = ID_ALPHABET): string {
  let id = prefix;
  for (let i = 0; i < length; i++) id += alphabet[rng.int(alphabet.length)];
  return id;
}

/** Walks the prompt in cache order (tools, system, messages): its size, its hash and its breakpoints. */
class PromptWalk {
  chars = 0;
  hash: number;
  readonly breakpoints: Breakpoint[] = [];

  constructor(model: string) {
    this.hash = hashString(model);
  }

  add(text: string): void {
    this.chars += text.length;
    this.hash = hashString(text, this.hash);
  }

  /** A block's cache_control, if it has one, ends a cacheable prefix here. */
  mark(block: Json, path: string): void {
    const control = block['cache_control'];
    if (isAbsent(control)) return;
    if (!isObject(control) || control['type'] !== 'ephemeral')
      throw invalidRequest(`${path}.cache_control.type: Input should be 'ephemeral'`);
    if (this.breakpoints.length === MAX_BREAKPOINTS) {
      throw invalidRequest(
        `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${MAX_BREAKPOINTS + 1}.`,
      );
    }
    this.breakpoints.push({ chars: this.chars, hash: this.hash });
  }
}

export function requireInteger(body: Json, field: string, min: number, path = field): number | undefined {
  const value = body[field];
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw invalidRequest(`${path}: Input should be a valid integer`);
  if (value < min) throw invalidRequest(`${path}: Input should be greater than or equal to ${min}`);
  return value;
}

function readNumber(body: Json, field: string, min: number, max: number): void {
  const value = body[field];
  if (isAbsent(value)) return;
  if (typeof value !== 'number') throw invalidRequest(`${field}: Input should be a valid number`);
  if (value < min) throw invalidRequest(`${field}: Input should be greater than or equal to ${min}`);
  if (value > max) throw invalidRequest(`${field}: Input should be less than or equal to ${max}`);
}

function readImage(block: Json, path: string): void {
  const source = block['source'];
  if (!isObject(source)) throw fieldRequired(`${path}.source`);
  if (source['type'] === 'base64') {
    if (!IMAGE_TYPES.includes(source['media_type'] as string)) {
      throw invalidRequest(
        `${path}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`,
      );
    }
    if (typeof source['data'] !== 'string') throw fieldRequired(`${path}.source.base64.data`);
  } else if (source['type'] === 'url') {
    if (typeof source['url'] !== 'string') throw fieldRequired(`${path}.source.url.url`);
  } else if (source['type'] !== 'file') {
    throw invalidRequest(
      `${path}.source: Input tag '${String(source['type'])}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'`,
    );
  }
}

/** Reads one content block into the walk; returns the tool_use id it declares or the tool_result it answers. */
function readBlock(
  block: unknown,
  path: string,
  walk: PromptWalk,
  context: { role: string; strict: boolean },
): { use?: string; result?: string } {
  if (!isObject(block)) throw invalidRequest(`${path}: Input should be a valid dictionary`);
  const found: { use?: string; result?: string } = {};
  switch (block['type']) {
    case 'text':
      if (typeof block['text'] !== 'string') throw fieldRequired(`${path}.text`);
      if (block['text'] === '') throw invalidRequest(`${path}: text content blocks must be non-empty`);
      if (
        context.strict &&
        context.role === 'user' &&
        Array.isArray(block['citations']) &&
        block['citations'].length > 0
      )
        throw invalidRequest(
          `${path}.text.citations: citations are not allowed on text blocks in user messages`,
        );
      walk.add(block['text']);
      break;
    case 'image':
      readImage(block, `${path}.image`);
      break;
    case 'document':
      if (context.strict && context.role === 'assistant')
        throw invalidRequest(`${path}: document blocks are not allowed in assistant messages`);
      break;
    case 'tool_use':
      if (typeof block['id'] !== 'string') throw fieldRequired(`${path}.tool_use.id`);
      if (typeof block['name'] !== 'string') throw fieldRequired(`${path}.tool_use.name`);
      if (!isObject(block['input']))
        throw invalidRequest(`${path}.tool_use.input: Input should be a valid dictionary`);
      walk.add(block['name'] + JSON.stringify(block['input']));
      found.use = block['id'];
      break;
    case 'tool_result': {
      if (typeof block['tool_use_id'] !== 'string') throw fieldRequired(`${path}.tool_result.tool_use_id`);
      const content = block['content'];
      if (typeof content === 'string') walk.add(content);
      else if (Array.isArray(content))
        content.forEach((inner, j) => readBlock(inner, `${path}.content.${j}`, walk, context));
      found.result = block['tool_use_id'];
      break;
    }
    case 'thinking':
      if (typeof block['thinking'] !== 'string') throw fieldRequired(`${path}.thinking.thinking`);
      if (typeof block['signature'] !== 'string') throw fieldRequired(`${path}.thinking.signature`);
      break;
    case 'redacted_thinking':
      if (typeof block['data'] !== 'string') throw fieldRequired(`${path}.redacted_thinking.data`);
      break;
    case undefined:
      throw fieldRequired(`${path}.type`);
    default:
      // Server tool results, search results, containers: accepted, not simulated.
      break;
  }
  walk.mark(block, path);
  return found;
}

/**
 * Validates the conversation: roles, non-empty content, and the tool_use / tool_result pairing the real
 * API enforces between an assistant turn and the user turn after it.
 */
function readMessages(body: Json, walk: PromptWalk, strict: boolean): void {
  const messages = body['messages'];
  if (isAbsent(messages)) throw fieldRequired('messages');
  if (!Array.isArray(messages)) throw invalidRequest('messages: Input should be a valid list');
  if (messages.length === 0) throw invalidRequest('messages: at least one message is required');
  let openUses: string[] = [];
  let openUsesAt = -1;
  messages.forEach((message: unknown, i) => {
    const path = `messages.${i}`;
    if (!isObject(message)) throw invalidRequest(`${path}: Input should be a valid dictionary`);
    const role = message['role'];
    if (isAbsent(role)) throw fieldRequired(`${path}.role`);
    // System messages inside the conversation (SystemMessageParam) carry text only.
    if (role !== 'user' && role !== 'assistant' && role !== 'system')
      throw invalidRequest(`${path}.role: Input should be 'user', 'assistant' or 'system'`);
    const content = message['content'];
    const last = i === messages.length - 1;
    const uses: string[] = [];
    const results: string[] = [];
    if (typeof content === 'string') {
      if (content === '' && !(last && role === 'assistant')) {
        throw invalidRequest(
          `${path}: all messages must have non-empty content except for the optional final assistant message`,
        );
      }
      walk.add(content);
    } else if (Array.isArray(content)) {
      if (content.length === 0 && !(last && role === 'assistant')) {
        throw invalidRequest(
          `${path}: all messages must have non-empty content except for the optional final assistant message`,
        );
      }
      content.forEach((block, j) => {
        const found = readBlock(block, `${path}.content.${j}`, walk, { role, strict });
        if (found.use !== undefined) uses.push(found.use);
        if (found.result !== undefined) {
          if (role !== 'user')
            throw invalidRequest(
              `${path}.content.${j}: tool_result blocks are only allowed in user messages`,
            );
          results.push(found.result);
        }
      });
    } else {
      throw isAbsent(content)
        ? fieldRequired(`${path}.content`)
        : invalidRequest(`${path}.content: Input should be a valid list`);
    }
    const unexpected = results.filter((id) => !(openUsesAt === i - 1 && openUses.includes(id)));
    if (unexpected.length > 0) {
      throw invalidRequest(
        `${path}.content.0: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unexpected.join(', ')}. ` +
          'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
      );
    }
    if (openUsesAt === i - 1) {
      const unanswered = openUses.filter((id) => !results.includes(id));
      if (unanswered.length > 0) {
        throw invalidRequest(
          `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ` +
            `${unanswered.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in ` +
            'the next message.',
        );
      }
    }
    openUses = uses;
    openUsesAt = i;
  });
}

function readSystem(body: Json, walk: PromptWalk): void {
  const system = body['system'];
  if (isAbsent(system)) return;
  if (typeof system === 'string') return walk.add(system);
  if (!Array.isArray(system)) throw invalidRequest('system: Input should be a valid list');
  system.forEach((block: unknown, i) => {
    const path = `system.${i}`;
    if (!isObject(block) || block['type'] !== 'text')
      throw invalidRequest(`${path}.type: Input should be 'text'`);
    readBlock(block, path, walk, { role: 'system', strict: false });
  });
}

interface CustomTool {
  name: string;
  schema: unknown;
}

function readTools(body: Json, walk: PromptWalk): CustomTool[] {
  const tools = body['tools'];
  if (isAbsent(tools)) return [];
  if (!Array.isArray(tools)) throw invalidRequest('tools: Input should be a valid list');
  const custom: CustomTool[] = [];
  tools.forEach((tool: unknown, i) => {
    const path = `tools.${i}`;
    if (!isObject(tool)) throw invalidRequest(`${path}: Input should be a valid dictionary`);
    if (typeof tool['name'] !== 'string' || tool['name'] === '') throw fieldRequired(`${path}.name`);
    // Server tools (web_search_20250305, bash_20250124, ...) carry a versioned type and no input_schema.
    if (tool['type'] === undefined || tool['type'] === 'custom') {
      const schema = tool['input_schema'];
      if (!isObject(schema)) throw fieldRequired(`${path}.custom.input_schema`);
      if (schema['type'] !== 'object')
        throw invalidRequest(`${path}.custom.input_schema.type: Input should be 'object'`);
      custom.push({ name: tool['name'], schema });
    }
    walk.add(
      tool['name'] +
        (typeof tool['description'] === 'string' ? tool['description'] : '') +
        JSON.stringify(tool['input_schema'] ?? {}),
    );
    walk.mark(tool, path);
  });
  if (new Set(custom.map((t) => t.name)).size !== custom.length)
    throw invalidRequest('tools: Tool names must be unique.');
  return custom;
}

/** The tools the answer calls: none unless tool_choice forces one (auto answers in text, as models mostly do). */
function toolsToCall(body: Json, tools: CustomTool[]): CustomTool[] {
  const choice = body['tool_choice'];
  if (isAbsent(choice)) return [];
  if (!isObject(choice)) throw invalidRequest('tool_choice: Input should be a valid dictionary');
  const single = choice['disable_parallel_tool_use'] === true;
  switch (choice['type']) {
    case 'auto':
    case 'none':
      return [];
    case 'any':
      if (tools.length === 0)
        throw invalidRequest('tool_choice: tool_choice may only be specified while providing tools.');
      return single ? tools.slice(0, 1) : tools;
    case 'tool': {
      const tool = tools.find((t) => t.name === choice['name']);
      if (tool === undefined)
        throw invalidRequest(
          `tool_choice.tool.name: Tool '${String(choice['name'])}' not found in provided tools`,
        );
      return [tool];
    }
    default:
      throw invalidRequest(
        `tool_choice: Input tag '${String(choice['type'])}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`,
      );
  }
}

/** The JSON schema the answer's text must satisfy (output_config.format, or the beta's output_format). */
function outputSchema(body: Json): unknown {
  const config = body['output_config'];
  const format = isObject(config) ? config['format'] : body['output_format'];
  if (isAbsent(format)) return undefined;
  if (!isObject(format) || format['type'] !== 'json_schema')
    throw invalidRequest("output_config.format.type: Input should be 'json_schema'");
  if (!isObject(format['schema'])) throw fieldRequired('output_config.format.schema');
  return format['schema'];
}

/** The thinking budget in tokens, or undefined without thinking. Adaptive thinking spends what it likes. */
function thinkingBudget(body: Json, maxTokens: number, forcedTools: boolean): number | undefined {
  const thinking = body['thinking'];
  if (isAbsent(thinking)) return undefined;
  if (!isObject(thinking)) throw invalidRequest('thinking: Input should be a valid dictionary');
  let budget: number;
  switch (thinking['type']) {
    case 'disabled':
      return undefined;
    case 'adaptive':
      budget = maxTokens - 1;
      break;
    case 'enabled': {
      const value = requireInteger(
        thinking,
        'budget_tokens',
        MIN_THINKING_BUDGET,
        'thinking.enabled.budget_tokens',
      );
      if (value === undefined) throw fieldRequired('thinking.enabled.budget_tokens');
      if (value >= maxTokens) {
        throw invalidRequest(
          '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at ' +
            'https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
        );
      }
      budget = value;
      break;
    }
    default:
      throw invalidRequest(
        `thinking: Input tag '${String(thinking['type'])}' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'`,
      );
  }
  if (forcedTools) throw invalidRequest('Thinking may not be enabled when tool_choice forces tool use.');
  return budget;
}

function readStopSequences(body: Json): string[] {
  const stops = body['stop_sequences'];
  if (isAbsent(stops)) return [];
  if (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string'))
    throw invalidRequest('stop_sequences: Input should be a valid list of strings');
  stops.forEach((s: string, i) => {
    if (s.trim() === '')
      throw invalidRequest(`stop_sequences.${i}: each stop sequence must contain non-whitespace`);
  });
  return stops as string[];
}

export function slices(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length > 0 ? pieces : [''];
}

/** Text of up to `tokens` tokens, cut before the first stop sequence it produces. */
function textUntilStop(
  rng: Random,
  tokens: number,
  stops: string[],
): { pieces: string[]; stop: string | undefined } {
  const longest = Math.max(...stops.map((s) => s.length));
  const pieces: string[] = [];
  let text = '';
  for (let i = 0; i < tokens; i++) {
    const token = TOKENS[nextToken(rng)] as string;
    const from = Math.max(0, text.length - longest);
    text += token;
    let at = -1;
    let hit: string | undefined;
    for (const stop of stops) {
      const found = text.indexOf(stop, from);
      if (found !== -1 && (at === -1 || found < at)) {
        at = found;
        hit = stop;
      }
    }
    if (hit !== undefined) {
      const kept = token.slice(0, Math.max(0, at - (text.length - token.length)));
      if (kept !== '') pieces.push(kept);
      return { pieces, stop: hit };
    }
    pieces.push(token);
  }
  return { pieces, stop: undefined };
}

/** Per-simulator state that outlives one request: the prompt cache. */
const caches = new WeakMap<SimulatorContext, PromptCache>();

function cacheOf(ctx: SimulatorContext): PromptCache {
  let cache = caches.get(ctx);
  if (cache === undefined) {
    cache = new PromptCache();
    caches.set(ctx, cache);
  }
  return cache;
}

export function requireModel(body: Json): string {
  const model = body['model'];
  if (isAbsent(model)) throw fieldRequired('model');
  if (typeof model !== 'string' || model === '')
    throw invalidRequest('model: Input should be a valid string');
  return model;
}

/** Validates what count_tokens and messages share, and measures the prompt. */
export function readPrompt(
  body: unknown,
  version: string,
): { body: Json; model: string; walk: PromptWalk; tools: CustomTool[] } {
  if (!isObject(body)) throw invalidRequest('Input should be a valid dictionary');
  const strict = isStrictVersion(version);
  if (strict) {
    for (const field of REMOVED_PARAMETERS)
      if (field in body) throw invalidRequest(`${field}: Extra inputs are not permitted`);
  }
  const model = requireModel(body);
  const walk = new PromptWalk(model);
  const tools = readTools(body, walk);
  readSystem(body, walk);
  readMessages(body, walk, strict);
  // A top-level cache_control marks the last cacheable block: the whole prompt.
  walk.mark(body, 'cache_control');
  return { body, model, walk, tools };
}

export function planMessage(raw: unknown, version: string, ctx: SimulatorContext): MessagePlan {
  const { body, model, walk, tools } = readPrompt(raw, version);
  // max_tokens 0 only warms the prompt cache: no content, stop_reason max_tokens.
  const maxTokens = requireInteger(body, 'max_tokens', 0);
  if (maxTokens === undefined) throw fieldRequired('max_tokens');
  const stream = body['stream'];
  if (!isAbsent(stream) && typeof stream !== 'boolean')
    throw invalidRequest('stream: Input should be a valid boolean');
  readNumber(body, 'temperature', 0, 1);
  readNumber(body, 'top_p', 0, 1);
  requireInteger(body, 'top_k', 0);
  const stops = readStopSequences(body);
  const calls = toolsToCall(body, tools);
  const budget = thinkingBudget(body, maxTokens, calls.length > 0);
  const schema = outputSchema(body);

  const rng = new Random(mixSeed(ctx.options.seed, walk.hash));
  const configured = ctx.options.outputTokens;
  const blocks: BlockPlan[] = [];
  let outputTokens = 0;
  let stopReason: StopReason = 'end_turn';
  let stopSequence: string | null = null;
  let room = maxTokens;

  if (budget !== undefined) {
    // The model thinks for about half the answer's length, within its budget; it counts as output.
    const thinkingTokens = Math.max(1, Math.min(Math.ceil(configured / 2), budget, maxTokens - 1));
    const pieces: string[] = [];
    for (let i = 0; i < thinkingTokens; i++) pieces.push(TOKENS[nextToken(rng)] as string);
    pieces[0] = (pieces[0] as string).trimStart();
    blocks.push({ kind: 'thinking', pieces, signature: randomId('Eq', rng, 86, BASE64_ALPHABET) + '==' });
    outputTokens += thinkingTokens;
    room -= thinkingTokens;
  }

  if (calls.length > 0) {
    for (const tool of calls) {
      const value = sampleSchema(tool.schema, rng);
      const input = JSON.stringify(value);
      blocks.push({ kind: 'tool', id: randomId('toolu_01', rng), name: tool.name, input, value });
      outputTokens += estimateTokens(tool.name + input);
    }
    stopReason = 'tool_use';
  } else if (schema !== undefined) {
    const json = JSON.stringify(sampleSchema(schema, rng));
    blocks.push({ kind: 'fixed-text', pieces: slices(json, 8) });
    outputTokens += estimateTokens(json);
  } else {
    const tokens = Math.min(configured, room);
    if (stops.length > 0) {
      const { pieces, stop } = textUntilStop(new Random(mixSeed(rng.int(0x7fffffff), 1)), tokens, stops);
      blocks.push({ kind: 'fixed-text', pieces });
      outputTokens += stop === undefined ? tokens : pieces.length + 1;
      if (stop !== undefined) {
        stopReason = 'stop_sequence';
        stopSequence = stop;
      } else if (tokens < configured) {
        stopReason = 'max_tokens';
      }
    } else {
      blocks.push({ kind: 'text', rng: new Random(mixSeed(rng.int(0x7fffffff), 1)), tokens });
      outputTokens += tokens;
      if (tokens < configured) stopReason = 'max_tokens';
    }
  }

  if (maxTokens === 0) {
    blocks.length = 0;
    outputTokens = 0;
    stopReason = 'max_tokens';
    stopSequence = null;
  }
  return {
    id: `msg_01${nextId()}`,
    model,
    stream: stream === true,
    blocks,
    stopReason,
    stopSequence,
    usage: { ...cacheOf(ctx).account(walk.chars, walk.breakpoints), outputTokens },
  };
}

/** count_tokens: the prompt's size, cached or not (caching changes the bill, not the count). */
export function countTokens(raw: unknown, version: string): number {
  const { walk } = readPrompt(raw, version);
  return tokensForChars(walk.chars);
}
