/**
 * The canonical chat model every translation meets at.
 *
 * Requests: the OpenAI chat-completions body is the canonical request shape (as the field has converged
 * on it); an inbound format that is not OpenAI translates into it, a provider that is not OpenAI translates
 * out of it (through the typed view in chat-request.ts), so N inbound formats and M providers cost N+M
 * translations. Fields the gateway does not understand stay in the object untouched. Two extensions carry
 * what OpenAI's shape has no field for: `thinking` (Anthropic-style reasoning budget) on the request, and
 * `reasoning_content` / `thinking_blocks` on assistant messages (reasoning to send back to the provider).
 *
 * Responses: a complete answer (ChatResponse) or a stream of parts (StreamPart), a discriminated union
 * after the Vercel AI SDK's provider spec. An adapter whose wire format equals the inbound one may skip the
 * parts and hand over the upstream bytes (see providers/provider.ts, `raw` outcomes).
 */
import type { Usage } from './usage.js';

export type ChatRequestBody = Record<string, unknown> & { model: string; messages: unknown[] };

/**
 * OpenAI's vocabulary. `stop` covers both a natural end and a stop sequence (the sequence, when known, is in
 * `stopSequence`); `content_filter` is a refusal or a safety stop; `error` a provider-side failure.
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error';

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as JSON text, exactly as the model produced them. */
  arguments: string;
}

/** One block of reasoning; `signature` (Anthropic, Bedrock) must go back with it on the next turn. */
export interface ReasoningBlock {
  text: string;
  signature?: string;
  /** Anthropic's redacted_thinking: opaque data instead of text. */
  redacted?: string;
}

export interface ChatChoice {
  index: number;
  text: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** The stop sequence that ended the answer, when the provider says which. */
  stopSequence?: string;
  reasoning?: ReasoningBlock[];
  /** A refusal message, when the provider separates it from content (OpenAI `refusal`). */
  refusal?: string;
}

export interface ChatResponse {
  id: string;
  model: string;
  created: number;
  choices: ChatChoice[];
  usage?: Usage;
}

export type StreamPart =
  | { type: 'start'; id: string; model: string; created: number; usage?: Usage }
  | { type: 'text-delta'; choice: number; text: string }
  /** Reasoning text as it is produced; a new block starts after a `reasoning-end`. */
  | { type: 'reasoning-delta'; choice: number; text: string }
  /** Ends a reasoning block; carries its signature or its redacted data when the provider sends one. */
  | { type: 'reasoning-end'; choice: number; signature?: string; redacted?: string }
  | {
      type: 'tool-call-delta';
      choice: number;
      /** Position of the call among this choice's calls (0, 1, ... for parallel calls). */
      index: number;
      /** Present on the first delta of a call. */
      id?: string;
      name?: string;
      argumentsDelta: string;
    }
  | { type: 'finish'; choice: number; reason: FinishReason; stopSequence?: string }
  /** Usage so far (the last one wins); streams end with one when the provider reports it. */
  | { type: 'usage'; usage: Usage };
