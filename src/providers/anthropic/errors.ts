/**
 * Anthropic's error vocabulary: the HTTP error body `{"type":"error","error":{"type","message"}}` and the
 * same object as an in-stream `event: error` (https://docs.claude.com/en/api/errors). Statuses are mapped
 * by the shared upstream-errors table; this only reads the message, and maps the in-stream errors, which
 * arrive after a 200 and so carry no status of their own.
 */
import { GatewayError } from '../../errors/gateway-error.js';
import type { ErrorBodyReader } from '../http/upstream-errors.js';
import { isObject } from '../../canonical/json.js';

export const readAnthropicError: ErrorBodyReader = (body) => {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const error = isObject(parsed) ? parsed['error'] : undefined;
    if (isObject(error) && typeof error['message'] === 'string' && error['message'] !== '') {
      return { message: error['message'] };
    }
  } catch {
    // Not JSON (a proxy's HTML page): the status alone decides.
  }
  return {};
};

/** What an in-stream overloaded_error asks the client to wait: the 529 it stands for carries no header. */
const overloadedRetryAfterSeconds = 1;

/**
 * An `event: error` payload → GatewayError. overloaded_error is the mid-stream form of a 529; rate limits
 * keep their kind; anything else is the provider's failure, with its message (Anthropic's messages never
 * quote credentials).
 */
export function streamErrorOf(payload: unknown, provider: string): GatewayError {
  const error = isObject(payload) && isObject(payload['error']) ? payload['error'] : {};
  const type = typeof error['type'] === 'string' ? error['type'] : 'api_error';
  const message = typeof error['message'] === 'string' ? error['message'] : 'stream error';
  switch (type) {
    case 'overloaded_error':
      return new GatewayError('upstream_overloaded', `provider ${provider} is overloaded: ${message}`, {
        retryAfterSeconds: overloadedRetryAfterSeconds,
      });
    case 'rate_limit_error':
      return new GatewayError('upstream_rate_limited', message);
    default:
      return new GatewayError('upstream_error', `provider ${provider} reported ${type}: ${message}`);
  }
}
