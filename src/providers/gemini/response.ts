/**
 * Gemini `GenerateContentResponse` → canonical ChatResponse
 * (https://ai.google.dev/api/generate-content#generatecontentresponse). The pieces the stream decoder
 * shares (finish reasons, usage, tool-call ids) live here too.
 */
import type {
  ChatChoice,
  ChatResponse,
  FinishReason,
  ReasoningBlock,
  ToolCall,
} from '../../canonical/chat.js';
import type { Usage } from '../../canonical/usage.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject, type Json } from '../../canonical/json.js';
export { isObject } from '../../canonical/json.js';

export interface GeminiAnswerOptions {
  provider: string;
  /** The upstream model id, the answer's model when Gemini does not name its modelVersion. */
  model: string;
  /** Keep only the first function call (the client set parallel_tool_calls: false). */
  singleToolCall: boolean;
}

/** Finish reasons that mean the answer was withheld or cut for policy reasons. */
const filtered = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'LANGUAGE',
]);

/** Finish reasons that mean the model itself failed (a function call it could not form, ...). */
const failed = new Set(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS']);

export function finishReasonOf(reason: string, hasToolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (filtered.has(reason)) return 'content_filter';
  if (failed.has(reason)) return 'error';
  // STOP, OTHER, FINISH_REASON_UNSPECIFIED: a normal end; with function calls it is OpenAI's tool_calls.
  return hasToolCalls ? 'tool_calls' : 'stop';
}

const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

/**
 * usageMetadata → Usage. promptTokenCount already includes cached content; thoughts are billed as output
 * but reported apart from candidatesTokenCount, so output = candidates + thoughts; tool-use prompt tokens
 * (results of Google-run tools) are input.
 */
export function usageFromGemini(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const thoughts = count(value['thoughtsTokenCount']);
  const usage: Usage = {
    inputTokens: count(value['promptTokenCount']) + count(value['toolUsePromptTokenCount']),
    outputTokens: count(value['candidatesTokenCount']) + thoughts,
  };
  const cached = count(value['cachedContentTokenCount']);
  if (cached > 0) usage.cachedInputTokens = cached;
  if (thoughts > 0) usage.reasoningTokens = thoughts;
  return usage;
}

/**
 * Gemini gives function calls no id (some models fill `functionCall.id`; it is kept when present). Made-up
 * ids include the response id, so calls of different turns never share one: clients key results by it.
 */
export function toolCallId(responseId: string, choice: number, index: number): string {
  const scope = responseId === '' ? '' : `${responseId}_`;
  return choice === 0 ? `call_${scope}${index}` : `call_${scope}${choice}_${index}`;
}

export function responseIdOf(response: Json): string {
  return typeof response['responseId'] === 'string' ? response['responseId'] : '';
}

export function modelOf(response: Json, fallback: string): string {
  return typeof response['modelVersion'] === 'string' && response['modelVersion'] !== ''
    ? response['modelVersion']
    : fallback;
}

export function argumentsOf(call: Json): string {
  return JSON.stringify(call['args'] ?? {});
}

/** A prompt Gemini refused to answer at all: no candidates, a blockReason. */
export function blockedPrompt(response: Json): string | undefined {
  const feedback = response['promptFeedback'];
  if (!isObject(feedback) || typeof feedback['blockReason'] !== 'string') return undefined;
  return feedback['blockReason'];
}

function choiceOf(
  candidate: Json,
  position: number,
  responseId: string,
  options: GeminiAnswerOptions,
): ChatChoice {
  const index = typeof candidate['index'] === 'number' ? candidate['index'] : position;
  const content = isObject(candidate['content']) ? candidate['content'] : {};
  const parts = Array.isArray(content['parts']) ? content['parts'] : [];
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  const reasoning: ReasoningBlock[] = [];
  for (const part of parts) {
    if (!isObject(part)) continue;
    const signature = typeof part['thoughtSignature'] === 'string' ? part['thoughtSignature'] : undefined;
    if (part['thought'] === true) {
      reasoning.push({
        text: typeof part['text'] === 'string' ? part['text'] : '',
        ...(signature === undefined ? {} : { signature }),
      });
      continue;
    }
    // A signature on a function call or text part: kept as a block of its own (see request.ts).
    if (signature !== undefined) reasoning.push({ text: '', signature });
    if (typeof part['text'] === 'string') {
      text = (text ?? '') + part['text'];
    } else if (isObject(part['functionCall'])) {
      if (options.singleToolCall && toolCalls.length > 0) continue;
      const call = part['functionCall'];
      toolCalls.push({
        id: typeof call['id'] === 'string' ? call['id'] : toolCallId(responseId, index, toolCalls.length),
        name: typeof call['name'] === 'string' ? call['name'] : '',
        arguments: argumentsOf(call),
      });
    }
  }
  const reason = typeof candidate['finishReason'] === 'string' ? candidate['finishReason'] : 'STOP';
  const choice: ChatChoice = {
    index,
    text: text === '' && toolCalls.length > 0 ? null : text,
    toolCalls,
    finishReason: finishReasonOf(reason, toolCalls.length > 0),
  };
  if (reasoning.length > 0) choice.reasoning = reasoning;
  return choice;
}

export function chatResponseFromGemini(parsed: unknown, options: GeminiAnswerOptions): ChatResponse {
  if (!isObject(parsed)) {
    throw new GatewayError('upstream_error', `provider ${options.provider} answered with an unexpected body`);
  }
  const responseId = responseIdOf(parsed);
  const candidates = Array.isArray(parsed['candidates']) ? parsed['candidates'].filter(isObject) : [];
  let choices = candidates.map((candidate, i) => choiceOf(candidate, i, responseId, options));
  if (choices.length === 0) {
    const blocked = blockedPrompt(parsed);
    if (blocked === undefined) {
      throw new GatewayError('upstream_error', `provider ${options.provider} answered without candidates`);
    }
    choices = [
      {
        index: 0,
        text: null,
        toolCalls: [],
        finishReason: 'content_filter',
        refusal: `The prompt was blocked by Gemini (${blocked}).`,
      },
    ];
  }
  const response: ChatResponse = {
    id: responseId,
    model: modelOf(parsed, options.model),
    created: Math.floor(Date.now() / 1000),
    choices,
  };
  const usage = usageFromGemini(parsed['usageMetadata']);
  if (usage !== undefined) response.usage = usage;
  return response;
}
