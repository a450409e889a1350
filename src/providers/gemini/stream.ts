/**
 * Gemini `streamGenerateContent?alt=sse` → canonical parts. Each event is a whole GenerateContentResponse
 * holding the next parts of each candidate: text arrives in pieces, a function call arrives whole in one
 * part (so it becomes one tool-call delta with id, name and all its arguments), and usageMetadata is a
 * running total (the last one wins).
 *
 * Gemini streams have no end marker: the body ending after every candidate sent its finishReason is the
 * normal end; ending before that is a cut. An error after the stream started comes as an event holding
 * `{"error":{...}}`.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import type { StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { sseDecoder } from '../http/sse-decoder.js';
import type { StreamDecoder } from '../http/translated-stream.js';
import { geminiHttpError } from './errors.js';
import {
  argumentsOf,
  blockedPrompt,
  finishReasonOf,
  isObject,
  modelOf,
  responseIdOf,
  toolCallId,
  usageFromGemini,
  type GeminiAnswerOptions,
} from './response.js';
import { type Json } from '../../canonical/json.js';

interface ChoiceState {
  reasoningOpen: boolean;
  calls: number;
  finished: boolean;
}

export function geminiStreamDecoder(options: GeminiAnswerOptions): StreamDecoder {
  const { provider } = options;
  let started = false;
  let responseId = '';
  let finishedAny = false;
  /** Set once the body ended: the decoder is flushing its last, possibly torn, event. */
  let ending = false;
  const interrupted = (): GatewayError =>
    new GatewayError('upstream_stream_interrupted', `provider ${provider} ended the stream early`);
  const choices = new Map<number, ChoiceState>();
  const stateOf = (index: number): ChoiceState => {
    let state = choices.get(index);
    if (state === undefined) {
      state = { reasoningOpen: false, calls: 0, finished: false };
      choices.set(index, state);
    }
    return state;
  };

  const onPart = (part: Json, choice: number, state: ChoiceState, out: StreamPart[]): void => {
    const signature = typeof part['thoughtSignature'] === 'string' ? part['thoughtSignature'] : undefined;
    const text = typeof part['text'] === 'string' ? part['text'] : undefined;
    if (part['thought'] === true) {
      if (text !== undefined && text !== '') {
        state.reasoningOpen = true;
        out.push({ type: 'reasoning-delta', choice, text });
      }
      if (signature !== undefined) {
        state.reasoningOpen = false;
        out.push({ type: 'reasoning-end', choice, signature });
      }
      return;
    }
    // Content after thoughts ends the reasoning block; a signature on it (Gemini signs the first function
    // call, or the last text part) travels on that block's end, or as a block of its own.
    if (state.reasoningOpen || signature !== undefined) {
      state.reasoningOpen = false;
      out.push(
        signature === undefined
          ? { type: 'reasoning-end', choice }
          : { type: 'reasoning-end', choice, signature },
      );
    }
    if (text !== undefined) {
      if (text !== '') out.push({ type: 'text-delta', choice, text });
      return;
    }
    const call = part['functionCall'];
    if (!isObject(call)) return;
    if (options.singleToolCall && state.calls > 0) return;
    const index = state.calls++;
    out.push({
      type: 'tool-call-delta',
      choice,
      index,
      id: typeof call['id'] === 'string' ? call['id'] : toolCallId(responseId, choice, index),
      name: typeof call['name'] === 'string' ? call['name'] : '',
      argumentsDelta: argumentsOf(call),
    });
  };

  const onEvent = (event: EventSourceMessage, out: StreamPart[]): void => {
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      // An event torn by the end of the body is a cut, not a malformed event.
      if (ending) throw interrupted();
      throw new GatewayError('upstream_error', `provider ${provider} sent a malformed stream event`);
    }
    if (!isObject(chunk)) return;
    if (chunk['error'] !== undefined) {
      const error = isObject(chunk['error']) ? chunk['error'] : {};
      const status = typeof error['code'] === 'number' && error['code'] >= 400 ? error['code'] : 500;
      throw geminiHttpError(provider, status, {}, Buffer.from(event.data));
    }
    if (!started) {
      started = true;
      responseId = responseIdOf(chunk);
      out.push({
        type: 'start',
        id: responseId,
        model: modelOf(chunk, options.model),
        created: Math.floor(Date.now() / 1000),
      });
    }
    let finishedHere = false;
    const candidates = chunk['candidates'];
    if (Array.isArray(candidates)) {
      candidates.forEach((raw: unknown, position) => {
        if (!isObject(raw)) return;
        const choice = typeof raw['index'] === 'number' ? raw['index'] : position;
        const state = stateOf(choice);
        const content = raw['content'];
        if (isObject(content) && Array.isArray(content['parts'])) {
          for (const part of content['parts']) if (isObject(part)) onPart(part, choice, state, out);
        }
        const reason = raw['finishReason'];
        if (typeof reason === 'string' && !state.finished) {
          if (state.reasoningOpen) {
            state.reasoningOpen = false;
            out.push({ type: 'reasoning-end', choice });
          }
          state.finished = true;
          finishedHere = true;
          out.push({ type: 'finish', choice, reason: finishReasonOf(reason, state.calls > 0) });
        }
      });
    } else if (blockedPrompt(chunk) !== undefined && !stateOf(0).finished) {
      stateOf(0).finished = true;
      finishedHere = true;
      out.push({ type: 'finish', choice: 0, reason: 'content_filter' });
    }
    if (finishedHere) finishedAny = true;
    // usageMetadata rides on every chunk as a running total; report it once the answer is complete.
    if (finishedAny) {
      const usage = usageFromGemini(chunk['usageMetadata']);
      if (usage !== undefined) out.push({ type: 'usage', usage });
    }
  };

  const sse = sseDecoder({
    onEvent,
    onEnd() {
      const unfinished = [...choices.values()].some((state) => !state.finished);
      if (!finishedAny || unfinished) throw interrupted();
    },
  });
  return {
    push: (chunk) => sse.push(chunk),
    end() {
      ending = true;
      return sse.end();
    },
  };
}
