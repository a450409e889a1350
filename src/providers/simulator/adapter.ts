/**
 * The `simulator` provider: answers in process, with no network, for the demo config and for quick local
 * runs. It produces canonical responses and stream parts (so it also exercises the translation path the
 * pass-through adapters skip), paced by the provider's `simulator` settings. Words and embeddings come
 * from the standalone simulator's engine so both simulators agree.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatRequestBody, ChatResponse, StreamPart } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import type { Usage } from '../../canonical/usage.js';
import type { ProviderConfig, SimulatorSettings } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import {
  embeddingBase64,
  embeddingVector,
  estimateTokens,
  nextToken,
  TOKENS,
} from '../../simulator/engine.js';
import { Random } from '../../simulator/random.js';
import { partStreamOf } from '../http/translated-stream.js';
import type { ChatOutcome, EmbeddingsOutcome, ProviderAdapter, UpstreamCall } from '../provider.js';

function promptTokens(body: ChatRequestBody): number {
  let tokens = 0;
  for (const message of body.messages) {
    const content = (message as { content?: unknown }).content;
    if (typeof content === 'string') tokens += estimateTokens(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown }).text;
        if (typeof text === 'string') tokens += estimateTokens(text);
      }
    }
    tokens += 4; // per-message framing, as OpenAI counts it
  }
  return tokens;
}

function outputLimit(
  body: ChatRequestBody,
  settings: SimulatorSettings,
): { tokens: number; capped: boolean } {
  const cap = body['max_completion_tokens'] ?? body['max_tokens'];
  if (typeof cap === 'number' && cap < settings.output_tokens)
    return { tokens: Math.max(0, cap), capped: true };
  return { tokens: settings.output_tokens, capped: false };
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new GatewayError('client_closed', 'client disconnected');
  }
}

export function createSimulatorAdapter(config: ProviderConfig): ProviderAdapter {
  const settings = config.simulator;
  const rng = new Random(settings.seed);
  const tokenGap = settings.tokens_per_second > 0 ? 1000 / settings.tokens_per_second : 0;

  async function* parts(
    call: UpstreamCall<ChatRequestBody>,
    usage: Usage,
    capped: boolean,
  ): AsyncGenerator<StreamPart> {
    yield {
      type: 'start',
      id: `chatcmpl-${randomUUID()}`,
      model: call.model,
      created: Math.floor(Date.now() / 1000),
    };
    for (let i = 0; i < usage.outputTokens; i++) {
      if (i > 0) await pause(tokenGap, call.cancel.signal);
      if (i === 0) call.onFirstToken();
      yield { type: 'text-delta', choice: 0, text: TOKENS[nextToken(rng)] as string };
    }
    yield { type: 'finish', choice: 0, reason: capped ? 'length' : 'stop' };
    yield { type: 'usage', usage };
  }

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      const limit = outputLimit(call.body, settings);
      const usage: Usage = { inputTokens: promptTokens(call.body), outputTokens: limit.tokens };
      await pause(settings.latency_ms + settings.ttft_ms, call.cancel.signal);
      if (call.stream) return partStreamOf(parts(call, usage, limit.capped));
      await pause(tokenGap * usage.outputTokens, call.cancel.signal);
      let text = '';
      for (let i = 0; i < usage.outputTokens; i++) text += TOKENS[nextToken(rng)] as string;
      call.onFirstToken();
      const response: ChatResponse = {
        id: `chatcmpl-${randomUUID()}`,
        model: call.model,
        created: Math.floor(Date.now() / 1000),
        choices: [{ index: 0, text, toolCalls: [], finishReason: limit.capped ? 'length' : 'stop' }],
        usage,
      };
      return { kind: 'response', response };
    },

    async embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      await pause(settings.latency_ms, call.cancel.signal);
      const raw = call.body.input;
      const inputs: (string | number[])[] =
        typeof raw === 'string'
          ? [raw]
          : Array.isArray(raw) && typeof raw[0] === 'number'
            ? [raw as number[]]
            : (raw as (string | number[])[]);
      const requested = call.body['dimensions'];
      const dimensions =
        typeof requested === 'number' ? requested : call.model.includes('large') ? 3072 : 1536;
      const base64 = call.body['encoding_format'] === 'base64';
      let inputTokens = 0;
      const vectors = inputs.map((input) => {
        inputTokens += typeof input === 'string' ? estimateTokens(input) : input.length;
        const vector = embeddingVector(input, dimensions);
        return base64 ? embeddingBase64(vector) : Array.from(vector);
      });
      return {
        kind: 'response',
        response: { model: call.model, vectors, usage: { inputTokens, outputTokens: 0 } },
      };
    },

    async close(): Promise<void> {},
  };
}
