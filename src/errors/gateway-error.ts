/**
 * Every failure a request can meet is a GatewayError with a kind. One table (error-table.ts) maps the kind
 * to an HTTP status and to each inbound format's error vocabulary, so no stage hand-writes error JSON.
 */
import type { ErrorKind } from './error-table.js';

export interface GatewayErrorOptions {
  /** The request field at fault, for 400s (OpenAI's `param`). */
  param?: string;
  /** Seconds the client should wait before retrying (Retry-After). */
  retryAfterSeconds?: number;
  /** Overrides the table's status, e.g. an upstream 4xx passed on as it came. */
  status?: number;
  /** Extra response headers (never secrets). */
  headers?: Record<string, string>;
  /** What the upstream answered, when the error is its answer: routing reads it (cooldowns, fallbacks). */
  upstream?: UpstreamFailure;
  cause?: unknown;
}

export interface UpstreamFailure {
  status: number;
  /** The provider's own error code or type, when its body has one (OpenAI `context_length_exceeded`). */
  code: string | undefined;
  /** The upstream's response headers (rate-limit resets); never written to the client. */
  headers: Record<string, string | string[] | undefined>;
}

export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly param: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly statusOverride: number | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly upstream: UpstreamFailure | undefined;

  constructor(kind: ErrorKind, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.kind = kind;
    this.param = options.param;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.statusOverride = options.status;
    this.headers = options.headers;
    this.upstream = options.upstream;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
