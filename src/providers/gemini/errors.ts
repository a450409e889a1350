/**
 * Google's error envelope → GatewayError. Both Google APIs answer errors as
 * `{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT","details":[...]}}` (google.rpc.Status,
 * https://ai.google.dev/api/generate-content and https://cloud.google.com/apis/design/errors); a stream
 * answered as a JSON array wraps it in `[...]`.
 *
 * Two Google habits the shared status mapping cannot see, fixed here before it runs:
 * - a wrong Gemini API key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not a 401: it is the
 *   gateway's credential, so it becomes the same 502 `upstream_auth_failed` as any 401/403;
 * - a 429 RESOURCE_EXHAUSTED carries its wait in a google.rpc.RetryInfo detail (`"retryDelay": "39s"`)
 *   rather than a Retry-After header, so the delay is read from the body.
 */
import type { Dispatcher } from 'undici';
import type { GatewayError } from '../../errors/gateway-error.js';
import { upstreamHttpError, type ProviderErrorDetail } from '../http/upstream-errors.js';
import { isObject } from '../../canonical/json.js';

// An error body is read for its message only; a larger one is cut rather than buffered whole.
const maxErrorBodyBytes = 64 * 1024;

export interface GoogleErrorBody {
  code?: number;
  message?: string;
  status?: string;
  /** The wait of a RetryInfo detail, in seconds. */
  retryDelaySeconds?: number;
  /** An ErrorInfo detail's reason, e.g. API_KEY_INVALID. */
  reason?: string;
}

/** Reads `{"error":{...}}` (or a one-element array of it); {} when the body has another shape. */
export function parseGoogleError(value: unknown): GoogleErrorBody {
  const envelope = Array.isArray(value) ? value[0] : value;
  if (!isObject(envelope) || !isObject(envelope['error'])) return {};
  const error = envelope['error'];
  const out: GoogleErrorBody = {};
  if (typeof error['code'] === 'number') out.code = error['code'];
  if (typeof error['message'] === 'string' && error['message'] !== '') out.message = error['message'];
  if (typeof error['status'] === 'string') out.status = error['status'];
  if (Array.isArray(error['details'])) {
    for (const detail of error['details']) {
      if (!isObject(detail)) continue;
      const delay = detail['retryDelay'];
      // Durations in Google's JSON are decimal seconds with an "s" suffix ("39s", "1.5s").
      if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) {
        out.retryDelaySeconds = Math.ceil(Number(delay.slice(0, -1)));
      }
      if (typeof detail['reason'] === 'string') out.reason = detail['reason'];
    }
  }
  return out;
}

function parseBody(body: Buffer): GoogleErrorBody {
  try {
    return parseGoogleError(JSON.parse(body.toString('utf8')));
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone decides.
    return {};
  }
}

/** The ErrorBodyReader shape, for callers that only need the message. */
export function readGeminiError(body: Buffer): ProviderErrorDetail {
  return { message: parseBody(body).message };
}

/** A Google error answer (status, headers, body) → the GatewayError the pipeline maps or fails over on. */
export function geminiHttpError(
  providerName: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): GatewayError {
  const error = parseBody(body);
  const authFailure = error.reason === 'API_KEY_INVALID' || error.status === 'UNAUTHENTICATED';
  const effectiveStatus = authFailure ? 401 : status;
  let effectiveHeaders = headers;
  if (headers['retry-after'] === undefined && error.retryDelaySeconds !== undefined) {
    effectiveHeaders = { ...headers, 'retry-after': String(error.retryDelaySeconds) };
  }
  const detail = error.message;
  return upstreamHttpError(providerName, effectiveStatus, effectiveHeaders, body, () => ({
    message: detail,
  }));
}

/** Reads at most `limit` bytes of an error answer, then drops the rest of the body. */
export async function readErrorBody(
  response: Dispatcher.ResponseData,
  limit = maxErrorBodyBytes,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        response.body.destroy();
        break;
      }
    }
  } catch {
    // A body cut while reading an error: the status alone still says what happened.
  }
  return Buffer.concat(parts);
}
