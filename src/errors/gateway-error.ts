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
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly param: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly statusOverride: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(kind: ErrorKind, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.kind = kind;
    this.param = options.param;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.statusOverride = options.status;
    this.headers = options.headers;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
