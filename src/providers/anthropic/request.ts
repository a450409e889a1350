/**
 * Canonical (OpenAI-shaped) chat request → Anthropic Messages request body
 * (https://docs.claude.com/en/api/messages). Choices made where the two APIs differ:
 *
 * - `max_tokens` is required by Anthropic: the client's, else `defaultMaxTokens` (4096). With thinking
 *   enabled Anthropic also requires max_tokens > budget_tokens, so the default is then budget + 4096.
 * - Reasoning: an explicit budget (`thinking.budget_tokens`) is sent as is; OpenAI's `reasoning_effort`
 *   becomes a budget (`effortBudgets`: low 1024, medium 4096, high 16384; minimal means no thinking).
 * - Reasoning blocks of earlier turns go back as thinking / redacted_thinking blocks only when they carry
 *   Anthropic's signature or redacted data: unsigned reasoning (another provider's) would be rejected.
 * - `response_format` json_schema uses Anthropic's structured outputs (`output_config.format`, GA). Those
 *   require closed object schemas, which json_object's "any object" cannot be, so json_object is emulated
 *   with a forced tool (`jsonToolName`) whose call the response translators turn back into text.
 * - Prompt caching: a LiteLLM-style `cache_control` on an OpenAI message (or on any of its content parts)
 *   or on a tool definition becomes an Anthropic cache breakpoint on that message's last block (or tool).
 * - OpenAI features Anthropic has no equivalent for are refused with a 400 naming them: n > 1, logprobs,
 *   top_logprobs, audio, modalities, prediction, logit_bias, seed, frequency and presence penalties. With
 *   API version 2026-10-21 or later (config `api_version`), which removed them, temperature, top_p and
 *   top_k are refused too (https://platform.claude.com/docs/en/api/migration-2026-10-21).
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import {
  readChatRequest,
  refuseUnsupported,
  unsupported,
  type ContentPart,
  type ChatRequestView,
  type Message,
} from '../../canonical/chat-request.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject, type Json } from '../../canonical/json.js';

export const defaultMaxTokens = 4096;

/** OpenAI reasoning effort → Anthropic thinking budget; 1024 is Anthropic's minimum budget. */
export const effortBudgets = { low: 1024, medium: 4096, high: 16384 } as const;
const minimumBudget = 1024;

/** The forced tool that emulates json_object; its name is unlikely to clash with a client's tool. */
export const jsonToolName = 'json_response';

export interface AnthropicRequest {
  body: Json;
  /** Set when json_object is emulated: a tool_use block of this name is the answer's text. */
  jsonTool: string | undefined;
}

// Media types Anthropic takes as image blocks (https://docs.claude.com/en/docs/build-with-claude/vision).
const imageTypes = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

function contentBlock(part: ContentPart, provider: string): Json | undefined {
  if (part.type === 'text') return part.text === '' ? undefined : { type: 'text', text: part.text };
  const source = part.source;
  if (source.kind === 'url') return { type: 'image', source: { type: 'url', url: source.url } };
  if (imageTypes.has(source.mediaType)) {
    return { type: 'image', source: { type: 'base64', media_type: source.mediaType, data: source.data } };
  }
  // A PDF as a data URL is a document block (https://docs.claude.com/en/docs/build-with-claude/pdf-support).
  if (source.mediaType === 'application/pdf') {
    return { type: 'document', source: { type: 'base64', media_type: source.mediaType, data: source.data } };
  }
  throw unsupported(`media type "${source.mediaType}" in image content`, provider, 'messages');
}

function blocksOf(parts: ContentPart[], provider: string): Json[] {
  const blocks: Json[] = [];
  for (const part of parts) {
    const block = contentBlock(part, provider);
    if (block !== undefined) blocks.push(block);
  }
  return blocks;
}

function toolInput(args: string, name: string): Json {
  let parsed: unknown;
  try {
    parsed = args.trim() === '' ? {} : JSON.parse(args);
  } catch {
    throw new GatewayError(
      'invalid_request',
      `messages: the arguments of the tool call to "${name}" are not valid JSON`,
      { param: 'messages' },
    );
  }
  if (!isObject(parsed)) {
    throw new GatewayError(
      'invalid_request',
      `messages: the arguments of the tool call to "${name}" must be a JSON object`,
      { param: 'messages' },
    );
  }
  return parsed;
}

function assistantBlocks(message: Message & { role: 'assistant' }, provider: string): Json[] {
  const blocks: Json[] = [];
  // Thinking blocks come first in an assistant turn, as Anthropic produced them.
  for (const block of message.reasoning) {
    if (block.redacted !== undefined) blocks.push({ type: 'redacted_thinking', data: block.redacted });
    else if (block.signature !== undefined)
      blocks.push({ type: 'thinking', thinking: block.text, signature: block.signature });
  }
  blocks.push(...blocksOf(message.content, provider));
  for (const call of message.toolCalls) {
    blocks.push({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input: toolInput(call.arguments, call.name),
    });
  }
  return blocks;
}

function toolResultBlock(message: Message & { role: 'tool' }, provider: string): Json {
  const blocks = blocksOf(message.content, provider);
  const block: Json = { type: 'tool_result', tool_use_id: message.toolCallId };
  if (blocks.length === 1 && blocks[0]?.['type'] === 'text') block['content'] = blocks[0]['text'];
  else if (blocks.length > 0) block['content'] = blocks;
  return block;
}

/** Whether a raw OpenAI message asks for a cache breakpoint (on itself or on one of its parts). */
function cacheControlOf(raw: unknown): Json | undefined {
  if (!isObject(raw)) return undefined;
  if (isObject(raw['cache_control'])) return raw['cache_control'];
  const content = raw['content'];
  if (!Array.isArray(content)) return undefined;
  for (const part of content)
    if (isObject(part) && isObject(part['cache_control'])) return part['cache_control'];
  return undefined;
}

interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

/**
 * The conversation as Anthropic turns: tool results are user turns of tool_result blocks, and consecutive
 * turns of one role merge (Anthropic expects alternation; parallel tool results are one user turn).
 * `marks[i]` is the cache breakpoint of view message i, if any.
 */
function turnsOf(messages: Message[], marks: (Json | undefined)[], provider: string): Turn[] {
  const turns: Turn[] = [];
  messages.forEach((message, i) => {
    let role: Turn['role'];
    let blocks: Json[];
    switch (message.role) {
      case 'user':
        role = 'user';
        blocks = blocksOf(message.content, provider);
        break;
      case 'tool':
        role = 'user';
        blocks = [toolResultBlock(message, provider)];
        break;
      case 'assistant':
        role = 'assistant';
        blocks = assistantBlocks(message, provider);
        break;
    }
    // Anthropic rejects empty turns; an empty assistant message (content "") says nothing anyway.
    if (blocks.length === 0) return;
    const mark = marks[i];
    if (mark !== undefined) (blocks[blocks.length - 1] as Json)['cache_control'] = mark;
    const last = turns[turns.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  });
  return turns;
}

function refuseOpenAIOnly(body: ChatRequestBody, view: ChatRequestView, provider: string): void {
  refuseUnsupported(body, provider, ['n', 'logprobs', 'audio', 'prediction', 'logit_bias', 'modalities']);
  const topLogprobs = body['top_logprobs'];
  if (typeof topLogprobs === 'number' && topLogprobs > 0)
    throw unsupported('"top_logprobs"', provider, 'top_logprobs');
  if (view.seed !== undefined) throw unsupported('"seed"', provider, 'seed');
  if (view.frequencyPenalty !== undefined && view.frequencyPenalty !== 0)
    throw unsupported('"frequency_penalty"', provider, 'frequency_penalty');
  if (view.presencePenalty !== undefined && view.presencePenalty !== 0)
    throw unsupported('"presence_penalty"', provider, 'presence_penalty');
}

function thinkingBudget(view: ChatRequestView): number | undefined {
  const reasoning = view.reasoning;
  if (reasoning === undefined) return undefined;
  if (reasoning.budgetTokens !== undefined) return reasoning.budgetTokens;
  if (reasoning.effort === undefined || reasoning.effort === 'minimal') return undefined;
  const budget: number = effortBudgets[reasoning.effort];
  // An effort is a wish, not a number: it fits under the client's max_tokens when it can.
  if (view.maxTokens !== undefined && budget >= view.maxTokens) {
    if (view.maxTokens - 1 < minimumBudget) {
      throw new GatewayError(
        'invalid_request',
        `max_tokens: reasoning_effort needs max_tokens above ${minimumBudget} with provider kind anthropic`,
        { param: 'max_tokens' },
      );
    }
    return view.maxTokens - 1;
  }
  return budget;
}

function toolChoiceOf(view: ChatRequestView): Json | undefined {
  const disable = view.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  const choice = view.toolChoice;
  if (choice === undefined)
    return view.parallelToolCalls === false && view.tools.length > 0
      ? { type: 'auto', ...disable }
      : undefined;
  switch (choice.type) {
    case 'auto':
      return { type: 'auto', ...disable };
    case 'none':
      return view.tools.length > 0 ? { type: 'none' } : undefined;
    case 'required':
      return { type: 'any', ...disable };
    case 'tool':
      return { type: 'tool', name: choice.name, ...disable };
  }
}

/** The first API version without sampling parameters; versions are dates, so they compare as strings. */
const samplingRemovedIn = '2026-10-21';

export function toAnthropicRequest(
  body: ChatRequestBody,
  model: string,
  provider: string,
  apiVersion: string,
): AnthropicRequest {
  const view = readChatRequest(body, provider);
  refuseOpenAIOnly(body, view, provider);
  if (apiVersion >= samplingRemovedIn) {
    const sampling: [string, unknown][] = [
      ['temperature', view.temperature],
      ['top_p', view.topP],
      ['top_k', view.topK],
    ];
    for (const [field, value] of sampling)
      if (value !== undefined)
        throw unsupported(`"${field}" (removed in anthropic-version ${samplingRemovedIn})`, provider, field);
  }

  const rawMessages = body.messages;
  const systemMarks: (Json | undefined)[] = [];
  const messageMarks: (Json | undefined)[] = [];
  for (const raw of rawMessages) {
    const role = isObject(raw) ? raw['role'] : undefined;
    (role === 'system' || role === 'developer' ? systemMarks : messageMarks).push(cacheControlOf(raw));
  }

  const out: Json = { model };
  const budget = thinkingBudget(view);
  out['max_tokens'] = view.maxTokens ?? (budget === undefined ? defaultMaxTokens : budget + defaultMaxTokens);
  if (view.system.length > 0) {
    out['system'] = systemMarks.some((mark) => mark !== undefined)
      ? view.system.map((text, i) => ({
          type: 'text',
          text,
          ...(systemMarks[i] === undefined ? {} : { cache_control: systemMarks[i] }),
        }))
      : view.system.join('\n\n');
  }
  out['messages'] = turnsOf(view.messages, messageMarks, provider);

  let jsonTool: string | undefined;
  const rawTools = Array.isArray(body['tools']) ? (body['tools'] as unknown[]) : [];
  const tools: Json[] = view.tools.map((tool, i) => {
    const definition: Json = { name: tool.name };
    if (tool.description !== undefined) definition['description'] = tool.description;
    definition['input_schema'] = tool.parameters;
    if (tool.strict === true) definition['strict'] = true;
    const mark = rawTools[i];
    if (isObject(mark) && isObject(mark['cache_control']))
      definition['cache_control'] = mark['cache_control'];
    return definition;
  });
  let toolChoice = toolChoiceOf(view);

  const format = view.responseFormat;
  if (format?.type === 'json_schema') {
    out['output_config'] = { format: { type: 'json_schema', schema: format.schema } };
  } else if (format?.type === 'json_object') {
    if (tools.length > 0)
      throw unsupported('response_format json_object together with tools', provider, 'response_format');
    if (budget !== undefined)
      throw unsupported('response_format json_object together with reasoning', provider, 'response_format');
    jsonTool = jsonToolName;
    tools.push({
      name: jsonToolName,
      description: 'Answer with a JSON object.',
      input_schema: { type: 'object' },
    });
    toolChoice = { type: 'tool', name: jsonToolName };
  }
  if (tools.length > 0) out['tools'] = tools;
  if (toolChoice !== undefined) out['tool_choice'] = toolChoice;

  if (view.stop.length > 0) out['stop_sequences'] = view.stop;
  if (view.temperature !== undefined) out['temperature'] = view.temperature;
  if (view.topP !== undefined) out['top_p'] = view.topP;
  if (view.topK !== undefined) out['top_k'] = view.topK;
  if (view.user !== undefined) out['metadata'] = { user_id: view.user };
  if (budget !== undefined) out['thinking'] = { type: 'enabled', budget_tokens: budget };
  if (view.stream) out['stream'] = true;
  return { body: out, jsonTool };
}
