/**
 * Canonical (OpenAI-shaped) chat request → Bedrock Converse request body
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html). The model id goes in
 * the URL, not the body; ConverseStream takes the same body.
 *
 * Mappings worth knowing:
 * - tool results (OpenAI role "tool") are `toolResult` blocks of a user message, and consecutive messages of
 *   one role are merged: Converse requires strictly alternating user/assistant turns.
 * - `tool_choice: "none"` has no Converse equivalent: the tools are left out, which stops tool calls; when the
 *   conversation already holds tool calls Converse requires `toolConfig`, so that case is refused.
 * - `response_format: json_schema` is Converse's own structured output (`outputConfig.textFormat`); the
 *   answer is JSON text, as with OpenAI. `json_object` has no equivalent and is refused.
 * - `top_k` and reasoning are model-specific (`additionalModelRequestFields`): Claude's `top_k` and
 *   `thinking` by default, Amazon Nova's `inferenceConfig.topK` for Nova ids (Nova takes no thinking budget).
 * - OpenAI `metadata` (string pairs) becomes `requestMetadata`, Bedrock's own tags for invocation logs.
 * - a `cache_control` on a message or on its last content part (the extension LiteLLM-style clients send)
 *   becomes a `cachePoint` block after that message's content: Bedrock caches only up to explicit points.
 * - `user` (an end-user id for abuse tracking) has no Converse field and does not change the answer; it is
 *   not sent. Everything else Converse cannot do (n > 1, logprobs, seed, penalties, logit_bias, audio,
 *   parallel_tool_calls: false, image URLs) is a 400 naming the feature.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import {
  readChatRequest,
  refuseUnsupported,
  unsupported,
  type ContentPart,
  type Message,
  type ReasoningRequest,
} from '../../canonical/chat-request.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject, type Json } from '../../canonical/json.js';

const imageFormats: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** Claude's thinking budgets for OpenAI's effort levels (1024 is Claude's minimum budget). */
const effortBudgets = { minimal: 1_024, low: 1_024, medium: 4_096, high: 16_384 } as const;

const cachePoint = { cachePoint: { type: 'default' } };

function hasCacheControl(raw: unknown): boolean {
  if (!isObject(raw)) return false;
  if (isObject(raw['cache_control'])) return true;
  const content = raw['content'];
  if (!Array.isArray(content) || content.length === 0) return false;
  const last: unknown = content[content.length - 1];
  return isObject(last) && isObject(last['cache_control']);
}

function contentBlocks(parts: ContentPart[], provider: string, param: string, images: boolean): Json[] {
  const blocks: Json[] = [];
  for (const part of parts) {
    if (part.type === 'text') {
      blocks.push({ text: part.text });
      continue;
    }
    if (!images) throw unsupported('images in assistant messages', provider, param);
    if (part.source.kind === 'url') {
      throw unsupported('image URLs (send the image as a base64 data URL)', provider, param);
    }
    const format = imageFormats[part.source.mediaType.toLowerCase()];
    if (format === undefined) {
      throw unsupported(`image type ${part.source.mediaType} (png, jpeg, gif, webp)`, provider, param);
    }
    blocks.push({ image: { format, source: { bytes: part.source.data } } });
  }
  return blocks;
}

function toolInput(text: string, param: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GatewayError('invalid_request', `${param}: tool call arguments are not valid JSON`, {
      param,
      cause: error,
    });
  }
}

function assistantBlocks(message: Message & { role: 'assistant' }, provider: string, at: string): Json[] {
  const blocks: Json[] = [];
  // Reasoning comes first, as the model produced it; Bedrock checks the signatures of the blocks it signed.
  for (const block of message.reasoning) {
    if (block.redacted !== undefined) {
      blocks.push({ reasoningContent: { redactedContent: block.redacted } });
    } else {
      blocks.push({
        reasoningContent: {
          reasoningText: {
            text: block.text,
            ...(block.signature === undefined ? {} : { signature: block.signature }),
          },
        },
      });
    }
  }
  blocks.push(...contentBlocks(message.content, provider, `${at}.content`, false));
  message.toolCalls.forEach((call, i) => {
    blocks.push({
      toolUse: {
        toolUseId: call.id,
        name: call.name,
        input: toolInput(call.arguments, `${at}.tool_calls[${i}].function.arguments`),
      },
    });
  });
  return blocks;
}

interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

function converseMessages(
  messages: Message[],
  rawMessages: unknown[],
  provider: string,
): { turns: Turn[]; systemCache: number[]; hasToolBlocks: boolean } {
  const turns: Turn[] = [];
  const systemCache: number[] = [];
  let hasToolBlocks = false;
  let next = 0;
  let systemIndex = 0;
  rawMessages.forEach((raw, i) => {
    const role = isObject(raw) ? raw['role'] : undefined;
    if (role === 'system' || role === 'developer') {
      if (hasCacheControl(raw)) systemCache.push(systemIndex);
      systemIndex++;
      return;
    }
    // readChatRequest keeps one Message per non-system message, in order.
    const message = messages[next++] as Message;
    const at = `messages[${i}]`;
    let turn: Turn;
    switch (message.role) {
      case 'user':
        turn = { role: 'user', content: contentBlocks(message.content, provider, `${at}.content`, true) };
        break;
      case 'assistant':
        if (message.toolCalls.length > 0) hasToolBlocks = true;
        turn = { role: 'assistant', content: assistantBlocks(message, provider, at) };
        break;
      case 'tool': {
        hasToolBlocks = true;
        const content = contentBlocks(message.content, provider, `${at}.content`, true);
        turn = {
          role: 'user',
          content: [
            {
              toolResult: {
                toolUseId: message.toolCallId,
                content: content.length === 0 ? [{ text: '' }] : content,
              },
            },
          ],
        };
        break;
      }
    }
    if (hasCacheControl(raw)) turn.content.push(cachePoint);
    // An assistant turn with nothing in it (content null, no calls) said nothing; Converse rejects it.
    if (turn.content.length === 0) return;
    const last = turns[turns.length - 1];
    if (last !== undefined && last.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  });
  return { turns, systemCache, hasToolBlocks };
}

const isNova = (modelId: string): boolean => /(^|[.:/])amazon\.nova/.test(modelId);

function reasoningBudget(reasoning: ReasoningRequest): number {
  return reasoning.budgetTokens ?? effortBudgets[reasoning.effort ?? 'medium'];
}

function refuseNonZero(body: ChatRequestBody, provider: string, fields: readonly string[]): void {
  for (const field of fields) {
    const value = body[field];
    if (value === undefined || value === null || value === 0) continue;
    throw unsupported(`"${field}"`, provider, field);
  }
}

/** The Converse body for `body` (the canonical request) sent to `modelId`. Throws a 400 GatewayError. */
export function toConverseRequest(body: ChatRequestBody, provider: string, modelId: string): Json {
  refuseUnsupported(body, provider, ['n', 'logprobs', 'audio', 'prediction', 'logit_bias', 'modalities']);
  refuseNonZero(body, provider, ['top_logprobs', 'frequency_penalty', 'presence_penalty']);
  if (body['seed'] !== undefined && body['seed'] !== null) throw unsupported('"seed"', provider, 'seed');
  const view = readChatRequest(body, provider);
  const { turns, systemCache, hasToolBlocks } = converseMessages(view.messages, body.messages, provider);
  const out: Json = { messages: turns };

  if (view.system.length > 0) {
    const system: Json[] = [];
    view.system.forEach((text, i) => {
      system.push({ text });
      if (systemCache.includes(i)) system.push(cachePoint);
    });
    out['system'] = system;
  }

  const inference: Json = {};
  if (view.maxTokens !== undefined) inference['maxTokens'] = view.maxTokens;
  if (view.temperature !== undefined) inference['temperature'] = view.temperature;
  if (view.topP !== undefined) inference['topP'] = view.topP;
  if (view.stop.length > 0) inference['stopSequences'] = view.stop;
  if (Object.keys(inference).length > 0) out['inferenceConfig'] = inference;

  if (view.tools.length > 0) {
    const choice = view.toolChoice;
    if (view.parallelToolCalls === false) {
      throw unsupported('parallel_tool_calls: false', provider, 'parallel_tool_calls');
    }
    if (choice?.type === 'none') {
      if (hasToolBlocks) {
        throw unsupported(
          'tool_choice "none" in a conversation that holds tool calls',
          provider,
          'tool_choice',
        );
      }
    } else {
      const toolConfig: Json = {
        tools: view.tools.map((tool) => ({
          toolSpec: {
            name: tool.name,
            ...(tool.description === undefined ? {} : { description: tool.description }),
            inputSchema: { json: tool.parameters },
            ...(tool.strict === undefined ? {} : { strict: tool.strict }),
          },
        })),
      };
      if (choice?.type === 'auto') toolConfig['toolChoice'] = { auto: {} };
      else if (choice?.type === 'required') toolConfig['toolChoice'] = { any: {} };
      else if (choice?.type === 'tool') toolConfig['toolChoice'] = { tool: { name: choice.name } };
      out['toolConfig'] = toolConfig;
    }
  } else if (
    view.toolChoice !== undefined &&
    view.toolChoice.type !== 'none' &&
    view.toolChoice.type !== 'auto'
  ) {
    throw new GatewayError('invalid_request', 'tool_choice: requires tools', { param: 'tool_choice' });
  }

  const format = view.responseFormat;
  if (format?.type === 'json_object') {
    throw unsupported('response_format "json_object" (use "json_schema")', provider, 'response_format.type');
  }
  if (format?.type === 'json_schema') {
    out['outputConfig'] = {
      textFormat: {
        type: 'json_schema',
        structure: {
          jsonSchema: {
            // Converse takes the schema as JSON text, not as an object.
            schema: JSON.stringify(format.schema),
            name: format.name,
            ...(format.description === undefined ? {} : { description: format.description }),
          },
        },
      },
    };
  }

  const additional: Json = {};
  if (view.topK !== undefined) {
    if (isNova(modelId)) additional['inferenceConfig'] = { topK: view.topK };
    else additional['top_k'] = view.topK;
  }
  if (view.reasoning !== undefined) {
    if (isNova(modelId)) throw unsupported('reasoning budgets for Amazon Nova models', provider, 'thinking');
    additional['thinking'] = { type: 'enabled', budget_tokens: reasoningBudget(view.reasoning) };
  }
  if (Object.keys(additional).length > 0) out['additionalModelRequestFields'] = additional;

  const metadata = body['metadata'];
  if (isObject(metadata) && Object.keys(metadata).length > 0) {
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new GatewayError('invalid_request', `metadata.${key}: expected a string`, {
          param: `metadata.${key}`,
        });
      }
      tags[key] = value;
    }
    out['requestMetadata'] = tags;
  }
  return out;
}
