/**
 * The canonical chat model every translation meets at.
 *
 * Requests: the OpenAI chat-completions body is the canonical request shape (as the field has converged
 * on it); an inbound format that is not OpenAI translates into it, a provider that is not OpenAI translates
 * out of it, so N inbound formats and M providers cost N+M translations. Fields the gateway does not
 * understand stay in the object untouched.
 *
 * Responses: a complete answer (ChatResponse) or a stream of parts (StreamPart), a discriminated union
 * after the Vercel AI SDK's provider spec. An adapter whose wire format equals the inbound one may skip the
 * parts and hand over the upstream bytes (see providers/provider.ts, `passthrough`).
 */
import type { Usage } from './usage.js';

export type ChatRequestBody = Record<string, unknown> & { model: string; messages: unknown[] };

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error';

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatChoice {
  index: number;
  text: string | null;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
}

export interface ChatResponse {
  id: string;
  model: string;
  created: number;
  choices: ChatChoice[];
  usage?: Usage;
}

export type StreamPart =
  | { type: 'start'; id: string; model: string; created: number }
  | { type: 'text-delta'; choice: number; text: string }
  | {
      type: 'tool-call-delta';
      choice: number;
      index: number;
      id?: string;
      name?: string;
      argumentsDelta: string;
    }
  | { type: 'finish'; choice: number; reason: FinishReason }
  | { type: 'usage'; usage: Usage };
