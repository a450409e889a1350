/**
 * Maps a failure of the HTTP transport (undici) to a GatewayError: timeouts are 504, refused or reset
 * connections 502. An abort carries its own reason (a deadline's GatewayError, or the client leaving).
 */
import { errors as undiciErrors } from './undici-parts.js';
import { GatewayError, isGatewayError } from '../../errors/gateway-error.js';

export function transportError(error: unknown, abortReason: unknown, providerName: string): GatewayError {
  if (isGatewayError(abortReason)) return abortReason;
  if (isGatewayError(error)) return error;
  if (abortReason !== undefined) {
    return new GatewayError('client_closed', 'client disconnected', { cause: abortReason });
  }
  if (
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  ) {
    const what =
      error instanceof undiciErrors.ConnectTimeoutError
        ? 'connect'
        : error instanceof undiciErrors.HeadersTimeoutError
          ? 'response headers'
          : 'stream idle';
    return new GatewayError('upstream_timeout', `provider ${providerName}: ${what} timeout`, {
      cause: error,
    });
  }
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? code : 'connection error';
  return new GatewayError('upstream_unreachable', `provider ${providerName} unreachable (${detail})`, {
    cause: error,
  });
}
