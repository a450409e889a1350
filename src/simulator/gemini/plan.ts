// What a generateContent call will answer, decided once and shared by the whole body (generate.ts) and the
// stream: per candidate, text of outputTokens words capped by maxOutputTokens (→ MAX_TOKENS), function
// calls with schema-satisfying args when functionCallingConfig.mode is ANY, JSON when responseMimeType
// asks for it, and a thought part first when thinkingConfig.includeThoughts is set.
import type { SimulatorContext } from '../context.js';
import { generateText, estimateTokens, nextToken, TOKENS, tokensForChars } from '../engine.js';
import { nextId } from '../exchange.js';
import { Random, hashString, mixSeed } from '../random.js';
import { isObject, type JsonObject as Json } from '../request.js';
import { sampleSchema, type JsonValue } from '../schema.js';
import { invalidArgument } from './errors.js';
import { checkGenerateRequest, field } from './request.js';

/** Gemini bills an image (up to 384 px a side; larger ones are tiled) as 258 tokens. */
const IMAGE_TOKENS = 258;
/** Length of a simulated thought summary, in tokens (capped by a smaller thinkingBudget). */
const THOUGHT_TOKENS = 8;

export type GeminiFinish = 'STOP' | 'MAX_TOKENS';

export interface FunctionCallPlan {
  name: string;
  args: JsonValue;
}

export type CandidatePlan = {
  /** The thought summary (includeThoughts), sent as the first part. */
  thought: string | undefined;
  finish: GeminiFinish;
} & (
  | { kind: 'text'; rng: Random; tokens: number }
  | { kind: 'json'; pieces: string[] }
  | { kind: 'calls'; calls: FunctionCallPlan[] }
);

export interface GeminiPlan {
  model: string;
  responseId: string;
  vertex: boolean;
  promptTokens: number;
  candidatesTokens: number;
  thoughtsTokens: number;
  /** The thought signature of each candidate when the model "thought". */
  signatures: (string | undefined)[];
  candidates: CandidatePlan[];
}

/** Counts a request's prompt (text, function calls and results, images) and hashes its text. */
export function readPrompt(
  contents: readonly Json[],
  system: unknown,
  model: string,
): { tokens: number; hash: number } {
  let chars = 0;
  let images = 0;
  let hash = hashString(model);
  const visit = (parts: unknown): void => {
    if (!Array.isArray(parts)) return;
    for (const part of parts) {
      if (!isObject(part)) continue;
      if (typeof part['text'] === 'string') {
        chars += part['text'].length;
        hash = hashString(part['text'], hash);
      } else if (field(part, 'inlineData') !== undefined || field(part, 'fileData') !== undefined) {
        images++;
      } else {
        const call = field(part, 'functionCall') ?? field(part, 'functionResponse');
        if (call !== undefined) {
          const text = JSON.stringify(call);
          chars += text.length;
          hash = hashString(text, hash);
        }
      }
    }
  };
  for (const content of contents) visit(content['parts']);
  if (isObject(system)) visit(system['parts']);
  return { tokens: tokensForChars(chars) + images * IMAGE_TOKENS, hash };
}

interface Declaration {
  name: string;
  schema: unknown;
}

function readDeclarations(body: Json): Declaration[] {
  const tools = body['tools'];
  if (!Array.isArray(tools)) return [];
  const out: Declaration[] = [];
  for (const tool of tools) {
    if (!isObject(tool)) continue;
    const declarations = field(tool, 'functionDeclarations');
    if (!Array.isArray(declarations)) continue;
    for (const declaration of declarations) {
      if (!isObject(declaration) || typeof declaration['name'] !== 'string') {
        throw invalidArgument(
          '* GenerateContentRequest.tools[0].function_declarations[0].name: Name cannot be empty.\n',
        );
      }
      const json = field(declaration, 'parametersJsonSchema');
      const parameters = declaration['parameters'];
      if (json !== undefined && parameters !== undefined) {
        throw invalidArgument('parameters and parameters_json_schema are mutually exclusive.');
      }
      out.push({
        name: declaration['name'],
        schema: json ?? openApiToJsonSchema(parameters) ?? { type: 'object' },
      });
    }
  }
  return out;
}

/** Gemini's OpenAPI-subset Schema spells types in capitals (OBJECT, STRING); sampleSchema reads JSON Schema. */
export function openApiToJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(openApiToJsonSchema);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' && typeof value === 'string') out[key] = value.toLowerCase();
    else if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, openApiToJsonSchema(v)]));
    } else out[key] = openApiToJsonSchema(value);
  }
  return out;
}

/** The functions the answer calls: all declarations (or the allowed ones) in mode ANY, else none. */
function functionsToCall(body: Json, declarations: Declaration[]): Declaration[] {
  const toolConfig = field(body, 'toolConfig');
  const calling = isObject(toolConfig) ? field(toolConfig, 'functionCallingConfig') : undefined;
  if (!isObject(calling) || calling['mode'] !== 'ANY') return [];
  if (declarations.length === 0) {
    throw invalidArgument('Function calling config is set without function_declarations.');
  }
  const allowed = field(calling, 'allowedFunctionNames');
  if (!Array.isArray(allowed) || allowed.length === 0) return declarations;
  return allowed.map((name) => {
    const found = declarations.find((d) => d.name === name);
    if (found === undefined) {
      throw invalidArgument(
        `* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: ${String(name)} ` +
          'is not a declared function name.\n',
      );
    }
    return found;
  });
}

interface Thinking {
  tokens: number;
  visible: boolean;
}

function readThinking(config: Json | undefined): Thinking | undefined {
  const thinking = config === undefined ? undefined : field(config, 'thinkingConfig');
  if (!isObject(thinking)) return undefined;
  const budget = field(thinking, 'thinkingBudget');
  if (budget === 0) return undefined;
  const tokens = typeof budget === 'number' && budget > 0 ? Math.min(budget, THOUGHT_TOKENS) : THOUGHT_TOKENS;
  return { tokens, visible: field(thinking, 'includeThoughts') === true };
}

/** JSON output: the schema's sample, cut in small pieces for the stream; `{"text": ...}` without a schema. */
function jsonPieces(config: Json, rng: Random, tokens: number): string[] {
  const schema = field(config, 'responseJsonSchema') ?? openApiToJsonSchema(field(config, 'responseSchema'));
  const value: JsonValue =
    schema === undefined ? { text: generateText(rng, tokens).trim() } : sampleSchema(schema, rng);
  const text = JSON.stringify(value);
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += 16) pieces.push(text.slice(i, i + 16));
  return pieces;
}

function signatureFor(responseId: string, candidate: number): string {
  return Buffer.from(`sluice-simulator-thought:${responseId}:${candidate}`).toString('base64');
}

export function planGenerate(
  body: unknown,
  model: string,
  vertex: boolean,
  ctx: SimulatorContext,
): GeminiPlan {
  const contents = checkGenerateRequest(body, vertex);
  const request = body as Json;
  const generation = field(request, 'generationConfig');
  const config = isObject(generation) ? generation : undefined;
  const prompt = readPrompt(contents, field(request, 'systemInstruction'), model);
  const declarations = readDeclarations(request);
  const calls = functionsToCall(request, declarations);
  const thinking = readThinking(config);
  const count = config === undefined ? undefined : field(config, 'candidateCount');
  const n = typeof count === 'number' ? count : 1;
  const cap = config === undefined ? undefined : field(config, 'maxOutputTokens');
  const configured = ctx.options.outputTokens;
  const tokens = typeof cap === 'number' && cap >= 1 && cap < configured ? cap : configured;
  const finish: GeminiFinish = tokens < configured ? 'MAX_TOKENS' : 'STOP';
  const json = config !== undefined && field(config, 'responseMimeType') === 'application/json';
  const responseId = nextId();
  const contentSeed = mixSeed(ctx.options.seed, prompt.hash);

  const candidates: CandidatePlan[] = [];
  const signatures: (string | undefined)[] = [];
  let candidatesTokens = 0;
  let thoughtsTokens = 0;
  for (let i = 0; i < n; i++) {
    const rng = new Random(mixSeed(contentSeed, i));
    let thought: string | undefined;
    if (thinking !== undefined) {
      thoughtsTokens += thinking.tokens;
      // Drawn from its own stream, so turning thoughts on does not change the answer's words.
      if (thinking.visible)
        thought =
          '**Thinking**\n\n' + generateText(new Random(mixSeed(contentSeed, ~i)), thinking.tokens).trim();
    }
    signatures.push(thinking === undefined ? undefined : signatureFor(responseId, i));
    if (calls.length > 0) {
      const planned = calls.map((declaration) => ({
        name: declaration.name,
        args: sampleSchema(declaration.schema, rng),
      }));
      for (const call of planned) candidatesTokens += estimateTokens(call.name + JSON.stringify(call.args));
      candidates.push({ kind: 'calls', calls: planned, thought, finish: 'STOP' });
    } else if (json && config !== undefined) {
      const pieces = jsonPieces(config, rng, tokens);
      candidatesTokens += estimateTokens(pieces.join(''));
      candidates.push({ kind: 'json', pieces, thought, finish: 'STOP' });
    } else {
      candidatesTokens += tokens;
      candidates.push({ kind: 'text', rng, tokens, thought, finish });
    }
  }
  return {
    model,
    responseId,
    vertex,
    promptTokens: prompt.tokens,
    candidatesTokens,
    thoughtsTokens,
    signatures,
    candidates,
  };
}

/** The usageMetadata of a finished answer. */
export function usageMetadata(plan: GeminiPlan): Json {
  const usage: Json = {
    promptTokenCount: plan.promptTokens,
    candidatesTokenCount: plan.candidatesTokens,
    totalTokenCount: plan.promptTokens + plan.candidatesTokens + plan.thoughtsTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: plan.promptTokens }],
  };
  if (plan.thoughtsTokens > 0) usage['thoughtsTokenCount'] = plan.thoughtsTokens;
  if (plan.vertex) usage['trafficType'] = 'ON_DEMAND';
  return usage;
}

/** Each token's stream part, `{"text":" word"}`, built once so a chunk costs concatenations only. */
export const TOKEN_PARTS: readonly string[] = TOKENS.map((token) => `{"text":${JSON.stringify(token)}}`);

/** The index of a text candidate's next token (the stream draws the words the whole answer would). */
export function drawToken(rng: Random): number {
  return nextToken(rng);
}
