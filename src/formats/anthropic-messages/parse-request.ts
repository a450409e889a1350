/**
 * Reads an Anthropic Messages body (`POST /v1/messages`): checks what the gateway relies on, naming the field
 * the way Anthropic does (`messages.0.content.1.source`), and translates it into the canonical OpenAI-shaped
 * request. The original body stays available: an Anthropic target receives it untouched (cache_control,
 * documents, server tools and all), every other target gets the canonical one.
 *
 * What the canonical shape cannot say is kept under names the provider translators refuse clearly (an
 * unknown content part or tool type), so a document block sent to GPT is a 400 naming the feature, not a
 * silent drop. cache_control is a hint and is dropped on the canonical path.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { unsupportedMarker } from '../../canonical/chat-request.js';
import type { ParsedChatRequest } from '../chat-format.js';
import { isObject, type Json } from '../../canonical/json.js';

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param });
}

function expect(value: unknown, param: string, type: 'string' | 'object' | 'array' | 'boolean'): void {
  const ok =
    type === 'array' ? Array.isArray(value) : type === 'object' ? isObject(value) : typeof value === type;
  if (!ok)
    throw invalid(
      param,
      `expected ${type === 'array' || type === 'object' ? 'an' : 'a'} ${type}, got ${typeName(value)}`,
    );
}

function optionalNumber(body: Json, field: string): void {
  const value = body[field];
  if (value !== undefined && value !== null && (typeof value !== 'number' || !Number.isFinite(value)))
    throw invalid(field, `expected a number, got ${typeName(value)}`);
}

/** An image block → an OpenAI image_url part (base64 becomes a data URL). */
function imagePart(block: Json, at: string): Json {
  const source = block['source'];
  expect(source, `${at}.source`, 'object');
  const src = source as Json;
  if (src['type'] === 'base64') {
    expect(src['media_type'], `${at}.source.media_type`, 'string');
    expect(src['data'], `${at}.source.data`, 'string');
    return {
      type: 'image_url',
      image_url: { url: `data:${String(src['media_type'])};base64,${String(src['data'])}` },
    };
  }
  if (src['type'] === 'url') {
    expect(src['url'], `${at}.source.url`, 'string');
    return { type: 'image_url', image_url: { url: src['url'] } };
  }
  // A Files API reference means nothing to another provider.
  return { type: `anthropic_image_${String(src['type'])}` };
}

function toolResultText(content: unknown, at: string): string | Json[] {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  expect(content, at, 'array');
  const parts: Json[] = [];
  (content as unknown[]).forEach((block, i) => {
    expect(block, `${at}.${i}`, 'object');
    const b = block as Json;
    if (b['type'] === 'text') {
      expect(b['text'], `${at}.${i}.text`, 'string');
      parts.push({ type: 'text', text: b['text'] });
    } else {
      // OpenAI tool messages carry text only; an image in a tool result has no canonical place.
      parts.push({ type: `anthropic_tool_result_${String(b['type'])}` });
    }
  });
  return parts;
}

interface Translated {
  messages: Json[];
}

function translateUser(content: unknown[], at: string, out: Translated): void {
  const parts: Json[] = [];
  // Tool results come first in an Anthropic user turn; OpenAI wants them as tool messages before the user's text.
  content.forEach((block, i) => {
    const where = `${at}.${i}`;
    expect(block, where, 'object');
    const b = block as Json;
    switch (b['type']) {
      case 'text':
        expect(b['text'], `${where}.text`, 'string');
        parts.push({ type: 'text', text: b['text'] });
        return;
      case 'image':
        parts.push(imagePart(b, where));
        return;
      case 'tool_result':
        expect(b['tool_use_id'], `${where}.tool_use_id`, 'string');
        out.messages.push({
          role: 'tool',
          tool_call_id: b['tool_use_id'],
          content: toolResultText(b['content'], `${where}.content`),
        });
        return;
      default:
        expect(b['type'], `${where}.type`, 'string');
        parts.push({ type: `anthropic_${String(b['type'])}` });
    }
  });
  if (parts.length > 0) out.messages.push({ role: 'user', content: parts });
}

function translateAssistant(content: unknown[], at: string, out: Translated): void {
  let text = '';
  const toolCalls: Json[] = [];
  const thinking: Json[] = [];
  const other: Json[] = [];
  content.forEach((block, i) => {
    const where = `${at}.${i}`;
    expect(block, where, 'object');
    const b = block as Json;
    switch (b['type']) {
      case 'text':
        expect(b['text'], `${where}.text`, 'string');
        text += b['text'];
        return;
      case 'tool_use':
        expect(b['id'], `${where}.id`, 'string');
        expect(b['name'], `${where}.name`, 'string');
        toolCalls.push({
          id: b['id'],
          type: 'function',
          function: { name: b['name'], arguments: JSON.stringify(b['input'] ?? {}) },
        });
        return;
      case 'thinking':
        expect(b['thinking'], `${where}.thinking`, 'string');
        thinking.push({ type: 'thinking', thinking: b['thinking'], signature: b['signature'] });
        return;
      case 'redacted_thinking':
        thinking.push({ type: 'redacted_thinking', data: b['data'] });
        return;
      default:
        expect(b['type'], `${where}.type`, 'string');
        other.push({ type: `anthropic_${String(b['type'])}` });
    }
  });
  const message: Json = {
    role: 'assistant',
    content: other.length > 0 ? [{ type: 'text', text }, ...other] : text,
  };
  if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
  if (thinking.length > 0) message['thinking_blocks'] = thinking;
  out.messages.push(message);
}

function systemText(system: unknown): string | undefined {
  if (system === undefined || system === null) return undefined;
  if (typeof system === 'string') return system;
  expect(system, 'system', 'array');
  return (system as unknown[])
    .map((block, i) => {
      expect(block, `system.${i}`, 'object');
      const b = block as Json;
      if (b['type'] !== 'text') throw invalid(`system.${i}.type`, 'expected "text"');
      expect(b['text'], `system.${i}.text`, 'string');
      return b['text'] as string;
    })
    .join('\n');
}

function translateTools(tools: unknown): Json[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  expect(tools, 'tools', 'array');
  return (tools as unknown[]).map((tool, i) => {
    expect(tool, `tools.${i}`, 'object');
    const t = tool as Json;
    expect(t['name'], `tools.${i}.name`, 'string');
    const type = t['type'];
    if (type !== undefined && type !== null && type !== 'custom') {
      // A server tool (web_search_..., bash_..., ...): only Anthropic runs it.
      return { type: `anthropic:${String(type)}`, name: t['name'] };
    }
    expect(t['input_schema'], `tools.${i}.input_schema`, 'object');
    const fn: Json = { name: t['name'], parameters: t['input_schema'] };
    if (typeof t['description'] === 'string') fn['description'] = t['description'];
    return { type: 'function', function: fn };
  });
}

function translateToolChoice(choice: unknown, body: Json): void {
  if (choice === undefined || choice === null) return;
  expect(choice, 'tool_choice', 'object');
  const c = choice as Json;
  switch (c['type']) {
    case 'auto':
      body['tool_choice'] = 'auto';
      break;
    case 'any':
      body['tool_choice'] = 'required';
      break;
    case 'none':
      body['tool_choice'] = 'none';
      break;
    case 'tool':
      expect(c['name'], 'tool_choice.name', 'string');
      body['tool_choice'] = { type: 'function', function: { name: c['name'] } };
      break;
    default:
      throw invalid('tool_choice.type', 'expected "auto", "any", "tool" or "none"');
  }
  if (c['disable_parallel_tool_use'] === true) body['parallel_tool_calls'] = false;
}

/** Request fields that change what Anthropic does and that no other provider has: refused for those. */
const anthropicOnlyFields = ['mcp_servers', 'container', 'context_management'] as const;

/**
 * Structured output: `output_config.format` (and the older `output_format`) with a JSON schema becomes
 * OpenAI's `response_format`, so an Anthropic client asking GPT or Gemini for JSON still gets JSON.
 */
function translateOutputFormat(body: Json, canonical: Json): void {
  const config = body['output_config'];
  const format = isObject(config) ? config['format'] : body['output_format'];
  if (format === undefined || format === null) return;
  const where = isObject(config) ? 'output_config.format' : 'output_format';
  expect(format, where, 'object');
  const f = format as Json;
  if (f['type'] !== 'json_schema') throw invalid(`${where}.type`, 'expected "json_schema"');
  expect(f['schema'], `${where}.schema`, 'object');
  canonical['response_format'] = {
    type: 'json_schema',
    json_schema: { name: 'response', schema: f['schema'], strict: true },
  };
}

export function parseMessagesRequest(value: unknown): ParsedChatRequest {
  if (!isObject(value))
    throw new GatewayError('invalid_request', `body: expected a JSON object, got ${typeName(value)}`);
  const body = value;
  const model = body['model'];
  if (model === undefined) throw invalid('model', 'Field required');
  if (typeof model !== 'string' || model === '')
    throw invalid('model', `expected a non-empty string, got ${typeName(model)}`);
  const maxTokens = body['max_tokens'];
  if (maxTokens === undefined) throw invalid('max_tokens', 'Field required');
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)
    throw invalid('max_tokens', `expected an integer >= 1, got ${JSON.stringify(maxTokens)}`);
  const messages = body['messages'];
  if (messages === undefined) throw invalid('messages', 'Field required');
  expect(messages, 'messages', 'array');
  if ((messages as unknown[]).length === 0) throw invalid('messages', 'at least one message is required');
  const stream = body['stream'];
  if (stream !== undefined && stream !== null) expect(stream, 'stream', 'boolean');
  for (const field of ['temperature', 'top_p', 'top_k']) optionalNumber(body, field);
  const stop = body['stop_sequences'];
  if (stop !== undefined && stop !== null) {
    expect(stop, 'stop_sequences', 'array');
    (stop as unknown[]).forEach((s, i) => expect(s, `stop_sequences.${i}`, 'string'));
  }

  const out: Translated = { messages: [] };
  const system = systemText(body['system']);
  if (system !== undefined && system !== '') out.messages.push({ role: 'system', content: system });
  (messages as unknown[]).forEach((message, i) => {
    const at = `messages.${i}`;
    expect(message, at, 'object');
    const m = message as Json;
    const role = m['role'];
    if (role !== 'user' && role !== 'assistant')
      throw invalid(`${at}.role`, `Input should be 'user' or 'assistant'`);
    const content = m['content'];
    if (typeof content === 'string') {
      out.messages.push({ role, content });
      return;
    }
    expect(content, `${at}.content`, 'array');
    if (role === 'user') translateUser(content as unknown[], `${at}.content`, out);
    else translateAssistant(content as unknown[], `${at}.content`, out);
  });

  const canonical: Json = { model, messages: out.messages, max_completion_tokens: maxTokens };
  if (stream === true) {
    canonical['stream'] = true;
    // Anthropic streams always end with usage; the canonical stream must carry it.
    canonical['stream_options'] = { include_usage: true };
  }
  if (stop !== undefined && stop !== null && (stop as unknown[]).length > 0) canonical['stop'] = stop;
  for (const field of ['temperature', 'top_p', 'top_k']) {
    if (typeof body[field] === 'number') canonical[field] = body[field];
  }
  const tools = translateTools(body['tools']);
  if (tools !== undefined && tools.length > 0) canonical['tools'] = tools;
  translateToolChoice(body['tool_choice'], canonical);
  const thinking = body['thinking'];
  if (thinking !== undefined && thinking !== null) {
    expect(thinking, 'thinking', 'object');
    const t = thinking as Json;
    if (t['type'] === 'enabled') {
      const budget = t['budget_tokens'];
      if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1)
        throw invalid('thinking.budget_tokens', 'expected an integer >= 1');
      canonical['thinking'] = { type: 'enabled', budget_tokens: budget };
    } else if (t['type'] !== 'disabled') {
      throw invalid('thinking.type', 'expected "enabled" or "disabled"');
    }
  }
  const metadata = body['metadata'];
  if (isObject(metadata) && typeof metadata['user_id'] === 'string') canonical['user'] = metadata['user_id'];
  translateOutputFormat(body, canonical);
  const anthropicOnly = anthropicOnlyFields.filter(
    (field) => body[field] !== undefined && body[field] !== null,
  );
  if (anthropicOnly.length > 0)
    canonical[unsupportedMarker] = anthropicOnly.map((f) => `the Anthropic "${f}" field`);

  return {
    body: canonical as ChatRequestBody,
    inboundBody: body,
    model,
    stream: stream === true,
    includeUsage: true,
  };
}
