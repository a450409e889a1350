/**
 * Canonical (OpenAI-shaped) chat request → Gemini `GenerateContentRequest`
 * (https://ai.google.dev/api/generate-content#request-body; Vertex AI takes the same body).
 *
 * Choices worth knowing:
 * - Tool parameters go out as `parametersJsonSchema` and structured output as `responseJsonSchema`: both
 *   take standard JSON Schema (additionalProperties, $ref, anyOf, ...), where the older `parameters` /
 *   `responseSchema` take an OpenAPI 3.0 subset that rejects what OpenAI clients commonly send. Only
 *   `$schema`, which neither accepts, is removed.
 * - Image URLs: `https://` and `gs://` URLs go out as `fileData {fileUri}`; the Gemini API fetches public
 *   and signed HTTPS URLs itself since January 2026, Vertex AI takes gs:// and HTTPS. Anything else
 *   (plain http) is refused.
 * - Gemini returns no tool-call ids; the response translators make them up, and a tool result finds its
 *   function's name by looking its id up in the earlier assistant turns.
 * - Thought signatures (https://ai.google.dev/gemini-api/docs/thought-signatures) come back as reasoning
 *   blocks; a block with text is a thought part, a block with only a signature is the signature Gemini put
 *   on a function call (or text) part, and goes back onto the first function call of that turn (Gemini 3
 *   rejects function calls whose signature is missing).
 * - `parallel_tool_calls: false` has no Gemini switch; the response translators keep only the first call.
 * - `user` is an abuse-monitoring tag with no Gemini field and no effect on the answer: not sent.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import {
  readChatRequest,
  refuseUnsupported,
  unsupported,
  type ChatRequestView,
  type ContentPart,
  type Message,
  type ReasoningRequest,
} from '../../canonical/chat-request.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { type Json } from '../../canonical/json.js';

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { fileUri: string; mimeType?: string };
  functionCall?: { name: string; args: unknown };
  functionResponse?: { name: string; response: unknown };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiChatRequest {
  /** The JSON body to send. */
  body: Json;
  /** The client disabled parallel tool calls: keep only the first function call of each answer. */
  singleToolCall: boolean;
}

const mimeByExtension: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

function filePart(url: string, provider: string): GeminiPart {
  if (!url.startsWith('https://') && !url.startsWith('gs://')) {
    throw unsupported('image URLs other than https:// and gs:// (send base64 data URLs)', provider);
  }
  const path = url.split(/[?#]/, 1)[0] as string;
  const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  const mimeType = mimeByExtension[extension];
  return { fileData: mimeType === undefined ? { fileUri: url } : { fileUri: url, mimeType } };
}

function contentParts(content: ContentPart[], provider: string): GeminiPart[] {
  return content.map((part) => {
    if (part.type === 'text') return { text: part.text };
    if (part.source.kind === 'base64') {
      return { inlineData: { mimeType: part.source.mediaType, data: part.source.data } };
    }
    return filePart(part.source.url, provider);
  });
}

function parseArguments(text: string, name: string): unknown {
  try {
    const args: unknown = JSON.parse(text === '' ? '{}' : text);
    if (args !== null && typeof args === 'object' && !Array.isArray(args)) return args;
  } catch {
    // Reported below.
  }
  throw new GatewayError(
    'invalid_request',
    `messages: the arguments of tool call "${name}" must be a JSON object to send them to Gemini`,
    { param: 'messages' },
  );
}

function assistantParts(message: Message & { role: 'assistant' }, provider: string): GeminiPart[] {
  const parts: GeminiPart[] = [];
  const loneSignatures: string[] = [];
  for (const block of message.reasoning) {
    // Another provider's redacted thinking means nothing to Gemini.
    if (block.redacted !== undefined) continue;
    if (block.text === '') {
      if (block.signature !== undefined) loneSignatures.push(block.signature);
      continue;
    }
    const part: GeminiPart = { text: block.text, thought: true };
    if (block.signature !== undefined) part.thoughtSignature = block.signature;
    parts.push(part);
  }
  parts.push(...contentParts(message.content, provider));
  const calls = message.toolCalls.map((call): GeminiPart => ({
    functionCall: { name: call.name, args: parseArguments(call.arguments, call.name) },
  }));
  // Gemini signs the first function call of a step (or, without calls, the last part): put them back there.
  const targets = calls.length > 0 ? calls : parts.filter((p) => p.thought !== true).slice(-1);
  loneSignatures.forEach((signature, i) => {
    const target = targets[i];
    if (target !== undefined) target.thoughtSignature = signature;
    else parts.push({ text: '', thoughtSignature: signature });
  });
  parts.push(...calls);
  return parts;
}

function toolResponse(text: string): unknown {
  // "Use 'output' for the function output; if neither output nor error is given, the whole response is
  // the output" (FunctionResponse.response): a JSON object result goes as it is, anything else as output.
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    // Plain text.
  }
  return { output: text };
}

function toolResultPart(
  message: Message & { role: 'tool' },
  names: Map<string, string>,
  provider: string,
): GeminiPart {
  const name = names.get(message.toolCallId);
  if (name === undefined) {
    throw new GatewayError(
      'invalid_request',
      `messages: tool_call_id "${message.toolCallId}" answers no tool call of an earlier assistant message`,
      { param: 'messages' },
    );
  }
  let text = '';
  for (const part of message.content) {
    if (part.type !== 'text') throw unsupported('images in tool results', provider, 'messages');
    text += part.text;
  }
  return { functionResponse: { name, response: toolResponse(text) } };
}

/** Gemini wants user and model turns to alternate: consecutive turns of one role become one. */
function buildContents(view: ChatRequestView, provider: string): GeminiContent[] {
  const contents: GeminiContent[] = [];
  const names = new Map<string, string>();
  const append = (role: 'user' | 'model', parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of view.messages) {
    switch (message.role) {
      case 'user':
        append('user', contentParts(message.content, provider));
        break;
      case 'assistant':
        for (const call of message.toolCalls) names.set(call.id, call.name);
        append('model', assistantParts(message, provider));
        break;
      case 'tool':
        append('user', [toolResultPart(message, names, provider)]);
        break;
    }
  }
  return contents;
}

/** Gemini's JSON Schema fields accept neither `$schema` nor OpenAI's `strict` flag inside the schema. */
function cleanSchema(schema: Json): Json {
  if (!('$schema' in schema)) return schema;
  const copy = { ...schema };
  delete copy['$schema'];
  return copy;
}

/** Effort levels for models with a token budget (Gemini 2.5: 0..24576 Flash, 128..32768 Pro). */
const budgetForEffort = { minimal: 512, low: 1_024, medium: 8_192, high: 24_576 } as const;

function thinkingConfig(reasoning: ReasoningRequest, model: string): Json {
  const config: Json = { includeThoughts: true };
  if (reasoning.budgetTokens !== undefined) {
    config['thinkingBudget'] = reasoning.budgetTokens;
  } else if (reasoning.effort !== undefined) {
    // Gemini 3 replaces budgets with thinkingLevel (minimal/low/medium/high); older models take a budget.
    if (/^gemini-[3-9]/.test(model)) config['thinkingLevel'] = reasoning.effort;
    else config['thinkingBudget'] = budgetForEffort[reasoning.effort];
  }
  return config;
}

function generationConfig(view: ChatRequestView, model: string): Json | undefined {
  const config: Json = {};
  if (view.temperature !== undefined) config['temperature'] = view.temperature;
  if (view.topP !== undefined) config['topP'] = view.topP;
  if (view.topK !== undefined) config['topK'] = view.topK;
  if (view.maxTokens !== undefined) config['maxOutputTokens'] = view.maxTokens;
  if (view.stop.length > 0) config['stopSequences'] = view.stop;
  if (view.seed !== undefined) config['seed'] = view.seed;
  if (view.n !== 1) config['candidateCount'] = view.n;
  if (view.presencePenalty !== undefined) config['presencePenalty'] = view.presencePenalty;
  if (view.frequencyPenalty !== undefined) config['frequencyPenalty'] = view.frequencyPenalty;
  const format = view.responseFormat;
  if (format !== undefined) {
    config['responseMimeType'] = 'application/json';
    if (format.type === 'json_schema') config['responseJsonSchema'] = cleanSchema(format.schema);
  }
  if (view.reasoning !== undefined) config['thinkingConfig'] = thinkingConfig(view.reasoning, model);
  return Object.keys(config).length === 0 ? undefined : config;
}

function toolConfig(view: ChatRequestView): Json | undefined {
  const choice = view.toolChoice;
  if (choice === undefined) return undefined;
  switch (choice.type) {
    case 'auto':
      return { functionCallingConfig: { mode: 'AUTO' } };
    case 'none':
      return { functionCallingConfig: { mode: 'NONE' } };
    case 'required':
      return { functionCallingConfig: { mode: 'ANY' } };
    case 'tool':
      return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  }
}

/** `model` is the upstream model id, already without its `models/` prefix. */
export function toGeminiRequest(body: ChatRequestBody, provider: string, model: string): GeminiChatRequest {
  refuseUnsupported(body, provider, ['logprobs', 'audio', 'prediction', 'logit_bias', 'modalities']);
  const view = readChatRequest(body, provider);
  const out: Json = { contents: buildContents(view, provider) };
  if (view.system.length > 0) {
    out['systemInstruction'] = { parts: view.system.map((text) => ({ text })) };
  }
  if (view.tools.length > 0) {
    out['tools'] = [
      {
        functionDeclarations: view.tools.map((tool) => {
          const declaration: Json = { name: tool.name };
          if (tool.description !== undefined) declaration['description'] = tool.description;
          declaration['parametersJsonSchema'] = cleanSchema(tool.parameters);
          return declaration;
        }),
      },
    ];
  }
  const tools = toolConfig(view);
  if (tools !== undefined) out['toolConfig'] = tools;
  const generation = generationConfig(view, model);
  if (generation !== undefined) out['generationConfig'] = generation;
  return { body: out, singleToolCall: view.parallelToolCalls === false };
}
