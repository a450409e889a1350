/**
 * OpenAI wire format ↔ canonical, for when the client speaks another format (an Anthropic-SDK app calling
 * GPT): the request loses the canonical extensions OpenAI would reject, the answer and the stream become
 * canonical parts. With an OpenAI client none of this runs; bytes pass through (adapter.ts).
 */
import type { EventSourceMessage } from 'eventsource-parser';
import type { ChatChoice, ChatResponse, FinishReason, StreamPart, ToolCall } from '../../canonical/chat.js';
import { partFeature, refuseMarked, toolFeature, unsupported } from '../../canonical/chat-request.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Usage } from '../../canonical/usage.js';
import { sseDecoder } from '../http/sse-decoder.js';
import type { StreamDecoder } from '../http/translated-stream.js';
import { isObject, type Json } from '../../canonical/json.js';
import { parseJsonBody } from '../http/upstream-http.js';

/** Anthropic-style thinking budgets → OpenAI's effort levels (OpenAI has no budget in tokens). */
function effortFor(budget: number): 'low' | 'medium' | 'high' {
  if (budget <= 2_048) return 'low';
  if (budget <= 8_192) return 'medium';
  return 'high';
}

/**
 * The canonical body as OpenAI accepts it: `thinking` becomes `reasoning_effort`; reasoning blocks of earlier
 * turns are dropped (OpenAI takes no reasoning as input, and other providers' signatures mean nothing to
 * it); `top_k`, which OpenAI lacks, is refused.
 */
export function toOpenAIWire(body: Json, provider: string): Json {
  if (body['top_k'] !== undefined && body['top_k'] !== null) throw unsupported('"top_k"', provider, 'top_k');
  refuseForeignShapes(body, provider);
  refuseMarked(body, provider);
  const thinking = body['thinking'];
  const messages = body['messages'];
  const needsCopy =
    thinking !== undefined ||
    (Array.isArray(messages) &&
      messages.some((m) => isObject(m) && ('thinking_blocks' in m || 'reasoning_content' in m)));
  if (!needsCopy) return body;
  const out: Json = { ...body };
  delete out['thinking'];
  delete out['top_k'];
  if (isObject(thinking) && thinking['type'] === 'enabled' && out['reasoning_effort'] === undefined) {
    const budget = thinking['budget_tokens'];
    out['reasoning_effort'] = effortFor(typeof budget === 'number' ? budget : 4_096);
  }
  if (Array.isArray(messages)) {
    out['messages'] = messages.map((m: unknown) => {
      if (!isObject(m) || !('thinking_blocks' in m || 'reasoning_content' in m)) return m;
      const copy = { ...m };
      delete copy['thinking_blocks'];
      delete copy['reasoning_content'];
      return copy;
    });
  }
  return out;
}

const openAIPartTypes = new Set(['text', 'image_url', 'input_audio', 'file', 'refusal']);

/** Parts and tools another inbound format kept under its own names (see formats/anthropic-messages). */
function refuseForeignShapes(body: Json, provider: string): void {
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    messages.forEach((message: unknown, i) => {
      const content = isObject(message) ? message['content'] : undefined;
      if (!Array.isArray(content)) return;
      content.forEach((part: unknown, j) => {
        if (isObject(part) && !openAIPartTypes.has(String(part['type'])))
          throw unsupported(partFeature(part['type']), provider, `messages[${i}].content[${j}].type`);
      });
    });
  }
  const tools = body['tools'];
  if (Array.isArray(tools)) {
    tools.forEach((tool: unknown, i) => {
      if (isObject(tool) && typeof tool['type'] === 'string' && tool['type'].startsWith('anthropic:'))
        throw unsupported(toolFeature(tool['type']), provider, `tools[${i}].type`);
    });
  }
}

const finishReasons = new Set(['stop', 'length', 'tool_calls', 'content_filter']);

function finishOf(value: unknown): FinishReason {
  if (typeof value === 'string' && finishReasons.has(value)) return value as FinishReason;
  // The deprecated function_call finish is a tool call; anything unknown is treated as a normal stop.
  return value === 'function_call' ? 'tool_calls' : 'stop';
}

export function usageFromOpenAI(value: unknown): Usage | undefined {
  if (!isObject(value) || typeof value['prompt_tokens'] !== 'number') return undefined;
  const usage: Usage = {
    inputTokens: value['prompt_tokens'],
    outputTokens: typeof value['completion_tokens'] === 'number' ? value['completion_tokens'] : 0,
  };
  const prompt = value['prompt_tokens_details'];
  if (isObject(prompt) && typeof prompt['cached_tokens'] === 'number' && prompt['cached_tokens'] > 0)
    usage.cachedInputTokens = prompt['cached_tokens'];
  const completion = value['completion_tokens_details'];
  if (
    isObject(completion) &&
    typeof completion['reasoning_tokens'] === 'number' &&
    completion['reasoning_tokens'] > 0
  )
    usage.reasoningTokens = completion['reasoning_tokens'];
  return usage;
}

/** Reasoning text under the names OpenAI-compatible servers use (DeepSeek, vLLM: reasoning_content). */
function reasoningOf(message: Json): string | undefined {
  const text = message['reasoning_content'] ?? message['reasoning'];
  return typeof text === 'string' && text !== '' ? text : undefined;
}

function upstreamFailure(provider: string, error: unknown): GatewayError {
  const message = isObject(error) && typeof error['message'] === 'string' ? `: ${error['message']}` : '';
  return new GatewayError('upstream_error', `provider ${provider} reported an error${message}`);
}

export function chatResponseFromOpenAI(body: Buffer, provider: string): ChatResponse {
  const parsed = parseJsonBody(body, provider);
  if (!isObject(parsed) || !Array.isArray(parsed['choices'])) {
    throw new GatewayError('upstream_error', `provider ${provider} answered without choices`);
  }
  const choices: ChatChoice[] = parsed['choices'].map((raw: unknown, i): ChatChoice => {
    const choice = isObject(raw) ? raw : {};
    const message = isObject(choice['message']) ? choice['message'] : {};
    const toolCalls: ToolCall[] = Array.isArray(message['tool_calls'])
      ? message['tool_calls'].filter(isObject).map((call) => {
          const fn = isObject(call['function']) ? call['function'] : {};
          return {
            id: String(call['id'] ?? ''),
            name: String(fn['name'] ?? ''),
            arguments: typeof fn['arguments'] === 'string' ? fn['arguments'] : '{}',
          };
        })
      : [];
    const out: ChatChoice = {
      index: typeof choice['index'] === 'number' ? choice['index'] : i,
      text: typeof message['content'] === 'string' ? message['content'] : null,
      toolCalls,
      finishReason: finishOf(choice['finish_reason']),
    };
    const reasoning = reasoningOf(message);
    if (reasoning !== undefined) out.reasoning = [{ text: reasoning }];
    if (typeof message['refusal'] === 'string' && message['refusal'] !== '') out.refusal = message['refusal'];
    return out;
  });
  const response: ChatResponse = {
    id: typeof parsed['id'] === 'string' ? parsed['id'] : '',
    model: typeof parsed['model'] === 'string' ? parsed['model'] : '',
    created: typeof parsed['created'] === 'number' ? parsed['created'] : Math.floor(Date.now() / 1000),
    choices,
  };
  const usage = usageFromOpenAI(parsed['usage']);
  if (usage !== undefined) response.usage = usage;
  return response;
}

/** OpenAI `chat.completion.chunk` events → canonical parts. */
export function openAIStreamDecoder(provider: string): StreamDecoder {
  let started = false;
  let done = false;
  /** Per choice, whether a reasoning block is open (it closes when content or a tool call begins). */
  const reasoningOpen = new Set<number>();
  const closeReasoning = (choice: number, out: StreamPart[]): void => {
    if (reasoningOpen.delete(choice)) out.push({ type: 'reasoning-end', choice });
  };
  const onEvent = (event: EventSourceMessage, out: StreamPart[]): void => {
    if (event.data === '[DONE]') {
      done = true;
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      throw new GatewayError('upstream_error', `provider ${provider} sent a malformed stream event`);
    }
    if (!isObject(chunk)) return;
    if (chunk['error'] !== undefined) throw upstreamFailure(provider, chunk['error']);
    if (!started) {
      started = true;
      out.push({
        type: 'start',
        id: typeof chunk['id'] === 'string' ? chunk['id'] : '',
        model: typeof chunk['model'] === 'string' ? chunk['model'] : '',
        created: typeof chunk['created'] === 'number' ? chunk['created'] : Math.floor(Date.now() / 1000),
      });
    }
    const choices = chunk['choices'];
    if (Array.isArray(choices)) {
      for (const raw of choices) {
        if (!isObject(raw)) continue;
        const index = typeof raw['index'] === 'number' ? raw['index'] : 0;
        const delta = isObject(raw['delta']) ? raw['delta'] : {};
        const reasoning = reasoningOf(delta);
        if (reasoning !== undefined) {
          reasoningOpen.add(index);
          out.push({ type: 'reasoning-delta', choice: index, text: reasoning });
        }
        const content = delta['content'];
        if (typeof content === 'string' && content !== '') {
          closeReasoning(index, out);
          out.push({ type: 'text-delta', choice: index, text: content });
        }
        const refusal = delta['refusal'];
        if (typeof refusal === 'string' && refusal !== '') {
          closeReasoning(index, out);
          out.push({ type: 'text-delta', choice: index, text: refusal });
        }
        if (Array.isArray(delta['tool_calls'])) {
          closeReasoning(index, out);
          for (const call of delta['tool_calls']) {
            if (!isObject(call)) continue;
            const fn = isObject(call['function']) ? call['function'] : {};
            const part: StreamPart & { type: 'tool-call-delta' } = {
              type: 'tool-call-delta',
              choice: index,
              index: typeof call['index'] === 'number' ? call['index'] : 0,
              argumentsDelta: typeof fn['arguments'] === 'string' ? fn['arguments'] : '',
            };
            if (typeof call['id'] === 'string') part.id = call['id'];
            if (typeof fn['name'] === 'string') part.name = fn['name'];
            out.push(part);
          }
        }
        if (raw['finish_reason'] !== undefined && raw['finish_reason'] !== null) {
          closeReasoning(index, out);
          out.push({ type: 'finish', choice: index, reason: finishOf(raw['finish_reason']) });
        }
      }
    }
    const usage = usageFromOpenAI(chunk['usage']);
    if (usage !== undefined) out.push({ type: 'usage', usage });
  };
  return sseDecoder({
    onEvent,
    onEnd() {
      if (!done) {
        throw new GatewayError('upstream_stream_interrupted', `provider ${provider} ended the stream early`);
      }
    },
  });
}
