// Anthropic's error envelope, `{"type":"error","error":{"type","message"},"request_id"}`
// (https://docs.claude.com/en/api/errors), and the simulator's injected faults in that vocabulary.
import type { FaultAnswers } from '../context.js';
import type { Exchange, VendorHeaders } from '../exchange.js';

/** A rejection in Anthropic's words; the format server turns it into the response. */
export class AnthropicError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export const invalidRequest = (message: string): AnthropicError =>
  new AnthropicError(400, 'invalid_request_error', message);

/** Pydantic-style field errors, as Anthropic words them: `max_tokens: Field required`. */
export const fieldRequired = (path: string): AnthropicError => invalidRequest(`${path}: Field required`);

export const notFound = (message = 'Not Found'): AnthropicError =>
  new AnthropicError(404, 'not_found_error', message);

export function errorBody(type: string, message: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
}

/** Anthropic sends its request id as `request-id` on every answer (the SDKs read it from there). */
export const anthropicHeaders: VendorHeaders = (ex, headers) => {
  headers.push('request-id', ex.requestId);
};

export function sendAnthropicJson(ex: Exchange, status: number, body: string, headers: string[] = []): void {
  ex.sendJson(status, body, headers);
}

export function sendAnthropicError(ex: Exchange, error: AnthropicError, headers: string[] = []): void {
  sendAnthropicJson(ex, error.status, errorBody(error.type, error.message, ex.requestId), headers);
}

/** The request budget the simulated rate limit claims to have exhausted. */
const REQUESTS_PER_MINUTE = 4_000;

function resetAt(retryAfterSeconds: number): string {
  return new Date(Date.now() + retryAfterSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const anthropicFaults: FaultAnswers = {
  serverError(ex) {
    sendAnthropicError(ex, new AnthropicError(500, 'api_error', 'Internal server error'));
  },
  rateLimited(ex, _model, retryAfterSeconds) {
    const reset = resetAt(retryAfterSeconds);
    sendAnthropicError(
      ex,
      new AnthropicError(
        429,
        'rate_limit_error',
        `This request would exceed your organization's rate limit of ${REQUESTS_PER_MINUTE} requests per ` +
          'minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response ' +
          'headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try ' +
          'again later.',
      ),
      [
        'retry-after',
        String(retryAfterSeconds),
        'anthropic-ratelimit-requests-limit',
        String(REQUESTS_PER_MINUTE),
        'anthropic-ratelimit-requests-remaining',
        '0',
        'anthropic-ratelimit-requests-reset',
        reset,
      ],
    );
  },
  overloaded(ex, retryAfterSeconds) {
    sendAnthropicError(ex, new AnthropicError(529, 'overloaded_error', 'Overloaded'), [
      'retry-after',
      String(retryAfterSeconds),
    ]);
  },
};
