// Converse requests: validation with Bedrock's rejections, then a plan of the answer shared by the
// non-stream body and the event stream. What the answer is follows the common simulator rules: a forced tool
// choice ("any" or a named tool) calls tools with arguments sampled from their schemas, one call per tool for
// "any"; outputConfig.textFormat answers JSON satisfying the schema; otherwise text of outputTokens tokens,
// capped by inferenceConfig.maxTokens (stopReason max_tokens) and cut at the first stop sequence.
// Claude's `thinking` (additionalModelRequestFields) adds a signed reasoning block first. `cachePoint` blocks
// make the prefix before the last one a cache write the first time it is seen and a cache read after.
import type { SimulatorContext } from '../context.js';
import { estimateTokens, generateText, tokensForChars, TOKENS, nextToken } from '../engine.js';
import { Random, hashString, mixSeed } from '../random.js';
import { sampleSchema, type JsonValue } from '../schema.js';
import { constraint, validation } from './errors.js';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface ToolUse {
  id: string;
  name: string;
  input: JsonValue;
  inputText: string;
}

export type ContentPlan =
  /** Words drawn from `rng` as they are sent, so long streams never hold their text. */
  | { kind: 'words'; rng: Random; tokens: number }
  /** Text known in advance (JSON, or text cut at a stop sequence), in the pieces a stream sends. */
  | { kind: 'pieces'; pieces: string[] }
  | { kind: 'tools'; calls: ToolUse[] };

export interface ConversePlan {
  modelId: string;
  reasoning: { text: string; signature: string } | undefined;
  content: ContentPlan;
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
  /** Whether the request had cache points: usage then reports the cache fields, zero or not. */
  caching: boolean;
  /** The simulator's test hook: requestMetadata `simulate_stream_exception` names an exception to end with. */
  streamException: string | undefined;
}

/** requestMetadata key that makes a stream end, halfway, with the named exception event. */
export const STREAM_EXCEPTION_KEY = 'simulate_stream_exception';

const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Claude on Bedrock refuses smaller thinking budgets. */
const MIN_THINKING_BUDGET = 1024;
/** Prefix hashes remembered per simulator for cache simulation; forgotten wholesale past this bound. */
const MAX_CACHED_PREFIXES = 10_000;

const cachedPrefixes = new WeakMap<SimulatorContext, Set<number>>();

function toolUseId(rng: Random): string {
  let id = 'tooluse_';
  for (let i = 0; i < 22; i++) id += ID_ALPHABET[rng.int(ID_ALPHABET.length)];
  return id;
}

/** Counts the characters of the prompt and hashes them; remembers where each cache point falls. */
class PromptMeter {
  chars = 0;
  hash: number;
  cachePoint: { chars: number; hash: number } | undefined;
  caching = false;

  constructor(seed: string) {
    this.hash = hashString(seed);
  }

  add(text: string): void {
    this.chars += text.length;
    this.hash = hashString(text, this.hash);
  }

  point(): void {
    this.caching = true;
    this.cachePoint = { chars: this.chars, hash: this.hash };
  }
}

interface ToolSpec {
  name: string;
  schema: unknown;
}

function readTools(body: Json, meter: PromptMeter): { tools: ToolSpec[]; choice: Json | undefined } {
  const config = body['toolConfig'];
  if (config === undefined) return { tools: [], choice: undefined };
  if (!isObject(config) || !Array.isArray(config['tools']) || config['tools'].length === 0) {
    throw constraint('[]', 'toolConfig.tools', 'Member must have length greater than or equal to 1');
  }
  const tools: ToolSpec[] = [];
  config['tools'].forEach((tool: unknown, i) => {
    if (isObject(tool) && isObject(tool['cachePoint'])) return meter.point();
    const spec = isObject(tool) ? tool['toolSpec'] : undefined;
    if (!isObject(spec) || typeof spec['name'] !== 'string' || spec['name'] === '') {
      throw constraint(null, `toolConfig.tools.${i + 1}.member.toolSpec.name`, 'Member must not be null');
    }
    const schema = spec['inputSchema'];
    if (!isObject(schema) || !isObject(schema['json'])) {
      throw validation(
        `The json schema definition at toolConfig.tools.${i}.toolSpec.inputSchema is invalid.`,
      );
    }
    meter.add(spec['name'] + JSON.stringify(schema['json']));
    tools.push({ name: spec['name'], schema: schema['json'] });
  });
  const choice = config['toolChoice'];
  if (choice !== undefined && !isObject(choice))
    throw validation('toolConfig.toolChoice: expected an object.');
  return { tools, choice };
}

function readSystem(body: Json, meter: PromptMeter): void {
  const system = body['system'];
  if (system === undefined) return;
  if (!Array.isArray(system)) throw validation('system: expected a list of SystemContentBlock.');
  system.forEach((block: unknown, i) => {
    if (isObject(block) && isObject(block['cachePoint'])) return meter.point();
    if (!isObject(block) || typeof block['text'] !== 'string') {
      throw validation(`The system content block at system.${i} must contain text or a cachePoint.`);
    }
    meter.add(block['text']);
  });
}

function validBase64(text: unknown): boolean {
  return (
    typeof text === 'string' &&
    text.length > 0 &&
    /^[A-Za-z0-9+/]*={0,2}$/.test(text) &&
    text.length % 4 === 0
  );
}

/** Validates the conversation as Converse does; returns the tool use ids of the last assistant turn. */
function readMessages(body: Json, meter: PromptMeter, hasToolConfig: boolean): void {
  const messages = body['messages'];
  if (
    !Array.isArray(messages) ||
    messages.length === 0 ||
    !isObject(messages[0]) ||
    messages[0]['role'] !== 'user'
  ) {
    throw validation(
      'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
    );
  }
  let previousRole = '';
  let openToolUses = new Set<string>();
  messages.forEach((message: unknown, i) => {
    if (!isObject(message)) throw validation(`messages.${i}: expected a Message object.`);
    const role = message['role'];
    if (role !== 'user' && role !== 'assistant') {
      throw constraint(
        role,
        `messages.${i + 1}.member.role`,
        'Member must satisfy enum value set: [user, assistant]',
      );
    }
    if (role === previousRole) {
      throw validation(
        'A conversation must alternate between user and assistant roles. Make sure the conversation ' +
          'alternates between user and assistant roles and try again.',
      );
    }
    previousRole = role;
    const content = message['content'];
    if (!Array.isArray(content) || content.length === 0) {
      throw validation(
        `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the ` +
          'content field and try again.',
      );
    }
    const toolUses = new Set<string>();
    content.forEach((block: unknown, j) => {
      const at = `messages.${i}.content.${j}`;
      if (!isObject(block)) throw validation(`${at}: expected a ContentBlock object.`);
      if (typeof block['text'] === 'string') {
        if (block['text'].trim() === '') {
          throw validation(
            `The text field in the ContentBlock object at ${at} is blank. Add text to the text field, and try again.`,
          );
        }
        meter.add(block['text']);
      } else if (isObject(block['image'])) {
        const image = block['image'];
        if (!IMAGE_FORMATS.has(String(image['format']))) {
          throw constraint(
            image['format'],
            `${at}.member.image.format`,
            'Member must satisfy enum value set: [png, jpeg, gif, webp]',
          );
        }
        const source = image['source'];
        if (!isObject(source) || !validBase64(source['bytes'])) {
          throw validation(`The image at ${at} has no valid base64 source.bytes.`);
        }
        meter.add(String(source['bytes']).slice(0, 64));
      } else if (isObject(block['toolUse'])) {
        const use = block['toolUse'];
        if (role !== 'assistant')
          throw validation(`${at}: toolUse blocks are only allowed in assistant messages.`);
        if (typeof use['toolUseId'] !== 'string' || typeof use['name'] !== 'string') {
          throw validation(`${at}.toolUse: toolUseId and name are required.`);
        }
        toolUses.add(use['toolUseId']);
        meter.add(use['name'] + JSON.stringify(use['input'] ?? null));
      } else if (isObject(block['toolResult'])) {
        const result = block['toolResult'];
        if (role !== 'user') throw validation(`${at}: toolResult blocks are only allowed in user messages.`);
        const id = result['toolUseId'];
        if (typeof id !== 'string' || !openToolUses.has(id)) {
          throw validation(
            `The toolUseId ${String(id)} at ${at}.toolResult does not match any toolUse block of the previous turn.`,
          );
        }
        if (!Array.isArray(result['content'])) throw validation(`${at}.toolResult: content is required.`);
        meter.add(JSON.stringify(result['content']));
      } else if (isObject(block['reasoningContent'])) {
        if (role !== 'assistant')
          throw validation(`${at}: reasoningContent is only allowed in assistant messages.`);
        const reasoning = block['reasoningContent'];
        const text = reasoning['reasoningText'];
        if (isObject(text)) meter.add(String(text['text'] ?? ''));
        else if (typeof reasoning['redactedContent'] !== 'string') {
          throw validation(`${at}.reasoningContent: reasoningText or redactedContent is required.`);
        }
      } else if (isObject(block['cachePoint'])) {
        meter.point();
      } else {
        throw validation(`The content block at ${at} has no content type this model supports.`);
      }
      if ((isObject(block['toolUse']) || isObject(block['toolResult'])) && !hasToolConfig) {
        throw validation(
          'The toolConfig field must be defined when using toolUse and toolResult content blocks.',
        );
      }
    });
    openToolUses = toolUses;
  });
}

interface Inference {
  maxTokens: number | undefined;
  stopSequences: string[];
}

function readInference(body: Json): Inference {
  const config = body['inferenceConfig'];
  if (config === undefined) return { maxTokens: undefined, stopSequences: [] };
  if (!isObject(config)) throw validation('inferenceConfig: expected an object.');
  const max = config['maxTokens'];
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) {
    throw constraint(max, 'inferenceConfig.maxTokens', 'Member must have value greater than or equal to 1');
  }
  for (const name of ['temperature', 'topP']) {
    const value = config[name];
    if (value !== undefined && (typeof value !== 'number' || value < 0 || value > 1)) {
      throw constraint(value, `inferenceConfig.${name}`, 'Member must have value less than or equal to 1');
    }
  }
  const stops = config['stopSequences'];
  if (
    stops !== undefined &&
    (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string' && s !== ''))
  ) {
    throw validation('inferenceConfig.stopSequences: expected a list of non-empty strings.');
  }
  return { maxTokens: max as number | undefined, stopSequences: (stops as string[] | undefined) ?? [] };
}

function readThinkingBudget(body: Json, maxTokens: number | undefined): number | undefined {
  const fields = body['additionalModelRequestFields'];
  if (!isObject(fields) || !isObject(fields['thinking']) || fields['thinking']['type'] !== 'enabled')
    return undefined;
  const budget = fields['thinking']['budget_tokens'];
  if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < MIN_THINKING_BUDGET) {
    throw validation(
      'The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than ' +
        `or equal to ${MIN_THINKING_BUDGET}`,
    );
  }
  if (maxTokens !== undefined && maxTokens <= budget) {
    throw validation(
      'The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.',
    );
  }
  return budget;
}

function readOutputSchema(body: Json): unknown {
  const config = body['outputConfig'];
  if (config === undefined) return undefined;
  const format = isObject(config) ? config['textFormat'] : undefined;
  if (format === undefined) return undefined;
  if (!isObject(format) || format['type'] !== 'json_schema') {
    throw constraint(
      isObject(format) ? format['type'] : format,
      'outputConfig.textFormat.type',
      'Member must satisfy enum value set: [json_schema]',
    );
  }
  const structure = format['structure'];
  const spec = isObject(structure) ? structure['jsonSchema'] : undefined;
  if (!isObject(spec) || typeof spec['schema'] !== 'string') {
    throw validation(
      'outputConfig.textFormat.structure.jsonSchema.schema: a JSON schema string is required.',
    );
  }
  try {
    return JSON.parse(spec['schema']);
  } catch {
    throw validation(
      'The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON.',
    );
  }
}

function readStreamException(body: Json): string | undefined {
  const metadata = body['requestMetadata'];
  if (metadata === undefined) return undefined;
  if (!isObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
    throw validation('requestMetadata: expected a map of strings.');
  }
  const value = metadata[STREAM_EXCEPTION_KEY];
  return typeof value === 'string' ? value : undefined;
}

function toolsToCall(tools: ToolSpec[], choice: Json | undefined): ToolSpec[] {
  if (choice === undefined || isObject(choice['auto'])) return [];
  if (isObject(choice['any'])) return tools;
  const named = choice['tool'];
  if (isObject(named)) {
    const tool = tools.find((t) => t.name === named['name']);
    if (tool === undefined) {
      throw validation(
        `The tool ${String(named['name'])} in toolConfig.toolChoice is not defined in toolConfig.tools.`,
      );
    }
    return [tool];
  }
  throw validation('toolConfig.toolChoice: expected one of auto, any, tool.');
}

/** Text of `tokens` words cut before the first stop sequence, when one occurs. */
function cutAtStop(rng: Random, tokens: number, stops: string[]): { pieces: string[]; stopped: boolean } {
  const words: string[] = [];
  for (let i = 0; i < tokens; i++) words.push(TOKENS[nextToken(rng)] as string);
  const text = words.join('');
  let cut = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at !== -1 && (cut === -1 || at < cut)) cut = at;
  }
  if (cut === -1) return { pieces: words, stopped: false };
  const pieces: string[] = [];
  let length = 0;
  for (const word of words) {
    if (length + word.length > cut) {
      if (cut > length) pieces.push(word.slice(0, cut - length));
      break;
    }
    pieces.push(word);
    length += word.length;
  }
  return { pieces, stopped: true };
}

export function slices(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

export function planConverse(body: unknown, modelId: string, ctx: SimulatorContext): ConversePlan {
  if (!isObject(body)) throw validation('The request body must be a JSON object.');
  const meter = new PromptMeter(modelId);
  const { tools, choice } = readTools(body, meter);
  readSystem(body, meter);
  readMessages(body, meter, body['toolConfig'] !== undefined);
  const inference = readInference(body);
  const budget = readThinkingBudget(body, inference.maxTokens);
  const schema = readOutputSchema(body);
  const streamException = readStreamException(body);
  const calls = toolsToCall(tools, choice);

  const rng = new Random(mixSeed(ctx.options.seed, meter.hash));
  const configured = ctx.options.outputTokens;
  let reasoning: ConversePlan['reasoning'];
  let outputTokens = 0;
  if (budget !== undefined) {
    const tokens = Math.min(budget, Math.max(4, Math.ceil(configured / 2)));
    const signature = Buffer.from(generateText(rng, 12)).toString('base64');
    reasoning = { text: generateText(rng, tokens).trimStart(), signature };
    outputTokens += tokens;
  }
  const cap = inference.maxTokens === undefined ? undefined : inference.maxTokens - outputTokens;

  let content: ContentPlan;
  let stopReason: ConversePlan['stopReason'] = 'end_turn';
  if (calls.length > 0) {
    const planned = calls.map((tool): ToolUse => {
      const input = sampleSchema(tool.schema, rng);
      return { id: toolUseId(rng), name: tool.name, input, inputText: JSON.stringify(input) };
    });
    for (const call of planned) outputTokens += estimateTokens(call.name + call.inputText);
    content = { kind: 'tools', calls: planned };
    stopReason = 'tool_use';
  } else if (schema !== undefined) {
    const text = JSON.stringify(sampleSchema(schema, rng));
    outputTokens += estimateTokens(text);
    content = { kind: 'pieces', pieces: slices(text, 16) };
  } else {
    const tokens = cap !== undefined && cap < configured ? cap : configured;
    if (tokens < configured) stopReason = 'max_tokens';
    if (inference.stopSequences.length > 0) {
      const { pieces, stopped } = cutAtStop(rng, tokens, inference.stopSequences);
      if (stopped) stopReason = 'stop_sequence';
      outputTokens += pieces.length;
      content = { kind: 'pieces', pieces };
    } else {
      outputTokens += tokens;
      content = { kind: 'words', rng, tokens };
    }
  }

  const total = tokensForChars(meter.chars);
  let cacheRead = 0;
  let cacheWrite = 0;
  const point = meter.cachePoint;
  if (point !== undefined && point.chars > 0) {
    let seen = cachedPrefixes.get(ctx);
    if (seen === undefined) cachedPrefixes.set(ctx, (seen = new Set()));
    const cached = tokensForChars(point.chars);
    if (seen.has(point.hash)) cacheRead = cached;
    else {
      if (seen.size >= MAX_CACHED_PREFIXES) seen.clear();
      seen.add(point.hash);
      cacheWrite = cached;
    }
  }
  return {
    modelId,
    reasoning,
    content,
    stopReason,
    inputTokens: Math.max(0, total - cacheRead - cacheWrite),
    outputTokens,
    cacheReadInputTokens: cacheRead,
    cacheWriteInputTokens: cacheWrite,
    caching: meter.caching,
    streamException,
  };
}

export function usageOf(plan: ConversePlan): Json {
  const usage: Json = {
    inputTokens: plan.inputTokens,
    outputTokens: plan.outputTokens,
    totalTokens:
      plan.inputTokens + plan.outputTokens + plan.cacheReadInputTokens + plan.cacheWriteInputTokens,
  };
  if (plan.caching) {
    usage['cacheReadInputTokens'] = plan.cacheReadInputTokens;
    usage['cacheWriteInputTokens'] = plan.cacheWriteInputTokens;
  }
  return usage;
}
