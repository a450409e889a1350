/**
 * What an inbound chat format provides to the pipeline: one per client-facing API (OpenAI chat completions,
 * Anthropic messages). It reads the client's body into the canonical request and writes canonical answers,
 * streams and errors back in the client's own vocabulary. Adding an inbound format is one folder that
 * exports one of these; no provider changes.
 */
import type { ChatRequestBody, ChatResponse, StreamPart } from '../canonical/chat.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { WireFormat } from '../providers/provider.js';

export interface ParsedChatRequest {
  /** The canonical (OpenAI-shaped) request. */
  body: ChatRequestBody;
  /** The body as the client sent it; the same object as `body` for the OpenAI format. */
  inboundBody: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`; formats that always report usage set it true. */
  includeUsage: boolean;
}

/** Writes one stream's canonical parts as the format's SSE frames; stateful (block indexes, ids). */
export interface ChatStreamWriter {
  /** The frames for these parts ('' when they produce none yet). */
  write(parts: readonly StreamPart[]): string;
  /** What ends a complete stream. */
  end(): string;
  /** What ends a stream that failed after it started (the status line is already sent). */
  error(error: GatewayError): string;
}

export interface ChatFormat {
  readonly name: WireFormat;
  /** Validates the client's JSON; throws a GatewayError (400 naming the field) on bad input. */
  parse(json: unknown): ParsedChatRequest;
  responseBody(response: ChatResponse): string;
  streamWriter(request: ParsedChatRequest): ChatStreamWriter;
  /** The error frame of a pass-through stream (bytes already in this format) that failed midway. */
  streamErrorFrame(error: GatewayError): string;
  errorBody(error: GatewayError): string;
}
