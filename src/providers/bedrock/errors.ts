/**
 * Bedrock's HTTP error answers: the error type in the `x-amzn-ErrorType` header (ThrottlingException 429,
 * ServiceUnavailableException 503, ValidationException 400, AccessDeniedException 403,
 * ModelTimeoutException 408, ModelErrorException 424, ...) and a body `{"message": "..."}` — `Message` for
 * errors raised by the AWS front door (IAM) rather than by Bedrock itself. The status decides the kind
 * (upstream-errors.ts); two Bedrock statuses mean something else than their HTTP reading, remapped here.
 */
import { GatewayError } from '../../errors/gateway-error.js';
import type { ErrorBodyReader } from '../http/upstream-errors.js';

export const readBedrockError: ErrorBodyReader = (body) => {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown> | null;
    const message = parsed?.['message'] ?? parsed?.['Message'];
    if (typeof message === 'string' && message !== '') return { message };
  } catch {
    // Not JSON (a proxy's page): the status alone speaks.
  }
  return {};
};

/**
 * ModelTimeoutException (408) is the model taking too long, not the client: a 504 like any upstream timeout.
 * ModelErrorException (424) is the model failing on a valid request: a 502 worth retrying elsewhere.
 */
export function remapBedrockError(error: unknown): unknown {
  if (!(error instanceof GatewayError) || error.kind !== 'upstream_bad_request') return error;
  if (error.statusOverride === 408) return new GatewayError('upstream_timeout', error.message);
  if (error.statusOverride === 424) return new GatewayError('upstream_error', error.message);
  return error;
}
