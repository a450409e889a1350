/**
 * A typed view of the canonical (OpenAI-shaped) chat request, for the provider translators that are not
 * OpenAI. OpenAI's body allows many spellings of one thing (content as a string or parts, `max_tokens` or
 * `max_completion_tokens`, `stop` as a string or a list, system or developer messages); this reads them once
 * into one shape, so each provider's translator maps a single vocabulary. The OpenAI adapters never call it:
 * they forward the body as it is.
 *
 * Anything the view cannot express is refused here with an `unsupported_feature` 400 naming the feature and
 * the provider, never dropped silently; provider translators refuse what their provider cannot do the same way
 * (see `unsupported`).
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { ChatRequestBody, ReasoningBlock, ToolCall } from './chat.js';
import { isObject, type Json } from './json.js';

export type ImageSource = { kind: 'url'; url: string } | { kind: 'base64'; mediaType: string; data: string };

export type ContentPart = { type: 'text'; text: string } | { type: 'image'; source: ImageSource };

export type Message =
  | { role: 'user'; content: ContentPart[] }
  | { role: 'assistant'; content: ContentPart[]; toolCalls: ToolCall[]; reasoning: ReasoningBlock[] }
  /** A tool's result, answering the assistant's call `toolCallId` (OpenAI role "tool"). */
  | { role: 'tool'; toolCallId: string; content: ContentPart[] };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments; `{type: "object", properties: {}}` when the client gave none. */
  parameters: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoice =
  | { type: 'auto' }
  | { type: 'none' }
  /** The model must call some tool (OpenAI "required", Anthropic "any"). */
  | { type: 'required' }
  | { type: 'tool'; name: string };

export type ResponseFormat =
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Record<string, unknown>;
      strict?: boolean;
      description?: string;
    };

export interface ReasoningRequest {
  /** OpenAI `reasoning_effort`. */
  effort?: 'minimal' | 'low' | 'medium' | 'high';
  /** Anthropic-style budget (canonical extension `thinking: {type: "enabled", budget_tokens}`). */
  budgetTokens?: number;
}

export interface ChatRequestView {
  model: string;
  /** Text of the system and developer messages, in order. */
  system: string[];
  /** The conversation without its system messages. */
  messages: Message[];
  tools: ToolDefinition[];
  toolChoice: ToolChoice | undefined;
  parallelToolCalls: boolean | undefined;
  responseFormat: ResponseFormat | undefined;
  stop: string[];
  temperature: number | undefined;
  topP: number | undefined;
  /** Canonical extension `top_k` (Anthropic, Gemini, Bedrock, Cohere have it; OpenAI does not). */
  topK: number | undefined;
  /** `max_completion_tokens`, else `max_tokens`. */
  maxTokens: number | undefined;
  seed: number | undefined;
  frequencyPenalty: number | undefined;
  presencePenalty: number | undefined;
  n: number;
  user: string | undefined;
  reasoning: ReasoningRequest | undefined;
  stream: boolean;
  includeUsage: boolean;
}

/** The 400 for a feature `provider` cannot do: it names both, so the client knows what to change. */
export function unsupported(feature: string, provider: string, param?: string): GatewayError {
  return new GatewayError('unsupported_feature', `${feature} is not supported by provider ${provider}`, {
    ...(param === undefined ? {} : { param }),
  });
}

/**
 * Names a content part the canonical shape has no place for. The Anthropic inbound format keeps its blocks
 * without an equivalent as `anthropic_<block type>` parts, so the refusal names what the client sent.
 */
export function partFeature(type: unknown): string {
  const name = String(type);
  if (name.startsWith('anthropic_tool_result_')) return `a "${name.slice(22)}" block inside a tool result`;
  if (name.startsWith('anthropic_image_')) return `an image with a "${name.slice(16)}" source`;
  if (name.startsWith('anthropic_')) return `the Anthropic "${name.slice(10)}" content block`;
  return `content part type "${name}"`;
}

/** Names a tool type other than a function (Anthropic server tools arrive as `anthropic:<type>`). */
export function toolFeature(type: unknown): string {
  const name = String(type);
  return name.startsWith('anthropic:')
    ? `the Anthropic server tool "${name.slice(10)}"`
    : `tool type "${name}"`;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param });
}

const dataUrl = /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s;

function imageSource(url: string, param: string): ImageSource {
  if (url.startsWith('data:')) {
    const match = dataUrl.exec(url);
    if (match === null) throw invalid(param, 'expected a base64 data URL (data:<media type>;base64,...)');
    return { kind: 'base64', mediaType: match[1] as string, data: match[2] as string };
  }
  return { kind: 'url', url };
}

function readParts(content: unknown, param: string, provider: string): ContentPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalid(param, 'expected a string or an array of parts');
  const parts: ContentPart[] = [];
  content.forEach((part: unknown, i) => {
    const at = `${param}[${i}]`;
    if (!isObject(part)) throw invalid(at, 'expected an object');
    switch (part['type']) {
      case 'text':
        if (typeof part['text'] !== 'string') throw invalid(`${at}.text`, 'expected a string');
        parts.push({ type: 'text', text: part['text'] });
        return;
      case 'image_url': {
        const image = part['image_url'];
        const url = isObject(image) ? image['url'] : image;
        if (typeof url !== 'string') throw invalid(`${at}.image_url.url`, 'expected a string');
        parts.push({ type: 'image', source: imageSource(url, `${at}.image_url.url`) });
        return;
      }
      case 'refusal':
        // An assistant's earlier refusal, sent back as history: it is text the model said.
        if (typeof part['refusal'] === 'string') parts.push({ type: 'text', text: part['refusal'] });
        return;
      default:
        throw unsupported(partFeature(part['type']), provider, `${at}.type`);
    }
  });
  return parts;
}

function textOf(parts: ContentPart[], param: string, provider: string): string {
  let text = '';
  for (const part of parts) {
    if (part.type !== 'text') throw unsupported('images in system messages', provider, param);
    text += text === '' ? part.text : `\n${part.text}`;
  }
  return text;
}

function readToolCalls(value: unknown, param: string): ToolCall[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(param, 'expected an array');
  return value.map((call: unknown, i) => {
    const at = `${param}[${i}]`;
    if (!isObject(call)) throw invalid(at, 'expected an object');
    const fn = call['function'];
    if (!isObject(fn) || typeof fn['name'] !== 'string') throw invalid(`${at}.function.name`, 'required');
    const args = fn['arguments'];
    return {
      id: typeof call['id'] === 'string' ? call['id'] : `call_${i}`,
      name: fn['name'],
      arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    };
  });
}

function readReasoning(message: Json): ReasoningBlock[] {
  const blocks = message['thinking_blocks'];
  if (Array.isArray(blocks)) {
    const out: ReasoningBlock[] = [];
    for (const block of blocks) {
      if (!isObject(block)) continue;
      if (block['type'] === 'redacted_thinking' && typeof block['data'] === 'string') {
        out.push({ text: '', redacted: block['data'] });
      } else if (typeof block['thinking'] === 'string') {
        out.push({
          text: block['thinking'],
          ...(typeof block['signature'] === 'string' ? { signature: block['signature'] } : {}),
        });
      }
    }
    return out;
  }
  const text = message['reasoning_content'];
  return typeof text === 'string' && text !== '' ? [{ text }] : [];
}

function readMessages(body: ChatRequestBody, provider: string): { system: string[]; messages: Message[] } {
  const system: string[] = [];
  const messages: Message[] = [];
  body.messages.forEach((raw: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isObject(raw)) throw invalid(at, 'expected an object');
    const content = readParts(raw['content'], `${at}.content`, provider);
    switch (raw['role']) {
      case 'system':
      case 'developer':
        system.push(textOf(content, `${at}.content`, provider));
        return;
      case 'user':
        messages.push({ role: 'user', content });
        return;
      case 'assistant':
        messages.push({
          role: 'assistant',
          content,
          toolCalls: readToolCalls(raw['tool_calls'], `${at}.tool_calls`),
          reasoning: readReasoning(raw),
        });
        return;
      case 'tool': {
        const id = raw['tool_call_id'];
        if (typeof id !== 'string') throw invalid(`${at}.tool_call_id`, 'required for role "tool"');
        messages.push({ role: 'tool', toolCallId: id, content });
        return;
      }
      case 'function':
        throw unsupported('the deprecated "function" role (use "tool")', provider, `${at}.role`);
      default:
        throw invalid(`${at}.role`, `unknown role ${JSON.stringify(raw['role'])}`);
    }
  });
  return { system, messages };
}

function readTools(value: unknown, provider: string): ToolDefinition[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('tools', 'expected an array');
  return value.map((tool: unknown, i) => {
    const at = `tools[${i}]`;
    if (!isObject(tool)) throw invalid(at, 'expected an object');
    if (tool['type'] !== 'function') throw unsupported(toolFeature(tool['type']), provider, `${at}.type`);
    const fn = tool['function'];
    if (!isObject(fn) || typeof fn['name'] !== 'string' || fn['name'] === '')
      throw invalid(`${at}.function.name`, 'required');
    const parameters = fn['parameters'];
    if (parameters !== undefined && !isObject(parameters))
      throw invalid(`${at}.function.parameters`, 'expected a JSON Schema object');
    const definition: ToolDefinition = {
      name: fn['name'],
      parameters: parameters ?? { type: 'object', properties: {} },
    };
    if (typeof fn['description'] === 'string') definition.description = fn['description'];
    if (typeof fn['strict'] === 'boolean') definition.strict = fn['strict'];
    return definition;
  });
}

function readToolChoice(value: unknown): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return { type: value };
  if (isObject(value) && value['type'] === 'function' && isObject(value['function'])) {
    const name = value['function']['name'];
    if (typeof name === 'string') return { type: 'tool', name };
  }
  throw invalid(
    'tool_choice',
    'expected "auto", "none", "required" or {"type":"function","function":{"name"}}',
  );
}

function readResponseFormat(value: unknown): ResponseFormat | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid('response_format', 'expected an object');
  switch (value['type']) {
    case 'text':
      return undefined;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const spec = value['json_schema'];
      if (!isObject(spec)) throw invalid('response_format.json_schema', 'required');
      const schema = spec['schema'];
      const format: ResponseFormat = {
        type: 'json_schema',
        name: typeof spec['name'] === 'string' ? spec['name'] : 'response',
        schema: isObject(schema) ? schema : { type: 'object' },
      };
      if (typeof spec['strict'] === 'boolean') format.strict = spec['strict'];
      if (typeof spec['description'] === 'string') format.description = spec['description'];
      return format;
    }
    default:
      throw invalid('response_format.type', 'expected "text", "json_object" or "json_schema"');
  }
}

function readStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value as string[];
  throw invalid('stop', 'expected a string or an array of strings');
}

const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function readReasoningRequest(body: ChatRequestBody): ReasoningRequest | undefined {
  const reasoning: ReasoningRequest = {};
  const effort = body['reasoning_effort'];
  if (effort === 'minimal' || effort === 'low' || effort === 'medium' || effort === 'high') {
    reasoning.effort = effort;
  } else if (effort !== undefined && effort !== null) {
    throw invalid('reasoning_effort', 'expected "minimal", "low", "medium" or "high"');
  }
  const thinking = body['thinking'];
  if (isObject(thinking) && thinking['type'] === 'enabled') {
    const budget = thinking['budget_tokens'];
    if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1)
      throw invalid('thinking.budget_tokens', 'expected a positive integer');
    reasoning.budgetTokens = budget;
  }
  return reasoning.effort === undefined && reasoning.budgetTokens === undefined ? undefined : reasoning;
}

/**
 * Canonical extension: features of the inbound format that have no canonical form (Anthropic's mcp_servers,
 * say). A native adapter never looks at the canonical body; every translator refuses the first one.
 */
export const unsupportedMarker = 'x_sluice_unsupported';

export function refuseMarked(body: Record<string, unknown>, provider: string): void {
  const marked = body[unsupportedMarker];
  if (Array.isArray(marked) && typeof marked[0] === 'string') throw unsupported(marked[0], provider);
}

/** Reads a canonical body (already checked by the inbound format's parser) for `provider`'s translator. */
export function readChatRequest(body: ChatRequestBody, provider: string): ChatRequestView {
  refuseMarked(body, provider);
  const { system, messages } = readMessages(body, provider);
  const streamOptions = body['stream_options'];
  const maxTokens = number(body['max_completion_tokens']) ?? number(body['max_tokens']);
  const parallel = body['parallel_tool_calls'];
  const user = body['user'];
  return {
    model: body.model,
    system,
    messages,
    tools: readTools(body['tools'], provider),
    toolChoice: readToolChoice(body['tool_choice']),
    parallelToolCalls: typeof parallel === 'boolean' ? parallel : undefined,
    responseFormat: readResponseFormat(body['response_format']),
    stop: readStop(body['stop']),
    temperature: number(body['temperature']),
    topP: number(body['top_p']),
    topK: number(body['top_k']),
    maxTokens,
    seed: number(body['seed']),
    frequencyPenalty: number(body['frequency_penalty']),
    presencePenalty: number(body['presence_penalty']),
    n: number(body['n']) ?? 1,
    user: typeof user === 'string' ? user : undefined,
    reasoning: readReasoningRequest(body),
    stream: body['stream'] === true,
    includeUsage: isObject(streamOptions) && streamOptions['include_usage'] === true,
  };
}

/**
 * Refuses OpenAI request fields a provider has no equivalent for, when the client set them to something
 * that matters (a default value such as `n: 1` or `logprobs: false` is harmless and passes).
 */
export function refuseUnsupported(
  body: ChatRequestBody,
  provider: string,
  fields: readonly ('n' | 'logprobs' | 'audio' | 'prediction' | 'logit_bias' | 'modalities')[],
): void {
  for (const field of fields) {
    const value = body[field];
    if (value === undefined || value === null || value === false) continue;
    if (field === 'n' && value === 1) continue;
    if (field === 'modalities' && Array.isArray(value) && value.every((m) => m === 'text')) continue;
    if (field === 'logit_bias' && isObject(value) && Object.keys(value).length === 0) continue;
    throw unsupported(`"${field}"`, provider, field);
  }
}
