/**
 * The small interface every upstream adapter implements (after the Vercel AI SDK's provider spec). The
 * pipeline only ever talks to this; provider quirks stay in the provider's folder.
 */
import type { ChatRequestBody, ChatResponse, StreamPart } from '../canonical/chat.js';
import type { EmbeddingsRequestBody, EmbeddingsResponse } from '../canonical/embeddings.js';
import type { Usage } from '../canonical/usage.js';
import type { Timeouts } from '../config/schema.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { Cancellation } from '../http/cancellation.js';

/** The wire format names an adapter may speak natively; equal to an inbound format's name. */
export type WireFormat = 'openai' | 'anthropic';

export interface UpstreamCall<Body> {
  /** The canonical request; the adapter must not mutate it (fallbacks may reuse it). */
  body: Body;
  /** Model name the upstream expects (the target's `model`). */
  model: string;
  stream: boolean;
  /** Fires when the client leaves; the adapter must stop the upstream call at once. */
  cancel: Cancellation;
  timeouts: Timeouts;
  requestId: string;
  /**
   * W3C trace context for the upstream: `00-<trace id>-<this attempt's span id>-<flags>`, and the client's
   * tracestate if it sent one. The shared HTTP layer (http/upstream-http.ts) sends them on every provider.
   * The pipeline always sets traceparent; a caller outside it (an adapter's own test) may leave both out.
   */
  traceparent?: string | undefined;
  tracestate?: string | undefined;
  /** The inbound wire format; an adapter speaking it natively may answer with `raw` outcomes. */
  inboundFormat: WireFormat;
  /**
   * The body as the client sent it, in the inbound format (the same object as `body` when that is OpenAI).
   * An adapter that speaks the inbound format natively sends this instead of translating `body`, so nothing
   * the canonical shape cannot express (Anthropic cache_control, say) is lost. Must not be mutated either.
   */
  inboundBody: Record<string, unknown>;
  /** The client's request headers (read only): a native adapter forwards the few that shape the answer. */
  inboundHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /** Called once when the first token (first content-bearing chunk) arrives. */
  onFirstToken: () => void;
  /** Called with the upstream's status and headers when they arrive (the router reads rate-limit headers). */
  onResponseHeaders?:
    ((status: number, headers: Record<string, string | string[] | undefined>) => void) | undefined;
}

/**
 * Upstream bytes already in the inbound wire format: forwarded without re-serialising. `usage` is read
 * off the bytes so accounting never needs a second parse downstream.
 */
export interface RawResponse {
  kind: 'raw';
  status: number;
  contentType: string;
  body: Buffer;
  usage: Usage | undefined;
}

/** Where a raw stream writes: the client connection, seen through the two calls backpressure needs. */
export interface ByteSink {
  /** Returns false when the client is congested: the source stops reading until `onDrain` fires. */
  write(chunk: Buffer): boolean;
  onDrain(resume: () => void): void;
}

export interface RawStream {
  kind: 'raw-stream';
  contentType: string;
  /**
   * Pumps the SSE bytes, exactly as the upstream sent them, into the sink as they arrive. Event-driven
   * rather than an async iterator: with thousands of concurrent streams, the promise and generator frames per
   * chunk are most of the gateway's memory. Rejects with a GatewayError (cut, idle timeout, client gone).
   */
  pipeTo(sink: ByteSink): Promise<void>;
  /** Filled in when the upstream reports usage (a final usage chunk); read after the stream ends. */
  usage: () => Usage | undefined;
  /**
   * An error the upstream reported inside the stream, read after pipeTo resolves: the client already has
   * the upstream's own error frame, so the stream ends without another one, but the failure is recorded.
   */
  failure?: () => GatewayError | undefined;
}

/** Where a translated stream writes its parts: the inbound format's writer in front of the client. */
export interface PartSink {
  /** Returns false when the client is congested: the source stops reading until `onDrain` fires. */
  write(parts: readonly StreamPart[]): boolean;
  onDrain(resume: () => void): void;
}

/**
 * A stream translated into canonical parts, event-driven like RawStream: each upstream chunk becomes the
 * parts it completes, handed over in one call. The first parts have already been read (see
 * ProviderAdapter.chat), so an upstream that fails before its first token is an error, not a broken stream.
 */
export interface PartStream {
  kind: 'stream';
  /** Rejects with a GatewayError (cut, idle timeout, in-stream error event, client gone). */
  pipeTo(sink: PartSink): Promise<void>;
}

export type ChatOutcome = RawResponse | RawStream | { kind: 'response'; response: ChatResponse } | PartStream;

export type EmbeddingsOutcome = RawResponse | { kind: 'response'; response: EmbeddingsResponse };

export interface ProviderAdapter {
  readonly name: string;
  readonly kind: string;
  /** Opens the upstream call. Resolves once the upstream has accepted it (status known; for streams, first chunk
   * received), so a later stage can still fail over; rejects with a GatewayError. */
  chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome>;
  embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome>;
  close(): Promise<void>;
}
