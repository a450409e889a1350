/**
 * A provider's HTTP error answer → GatewayError, for every provider: the status decides the kind, and the
 * provider's own message is kept (it is what the client needs to fix a bad request), read by the provider's
 * `readError`. Exceptions: 401/403 concern the gateway's own credential, and providers quote part of the
 * key in the message, so they become a generic 502; 503 and Anthropic's 529 mean "overloaded, come back",
 * a 503 with Retry-After for the client.
 */
import { GatewayError } from '../../errors/gateway-error.js';

export interface ProviderErrorDetail {
  message?: string | undefined;
  param?: string | undefined;
  /** The provider's machine-readable code or type (OpenAI `code`, Anthropic `error.type`, ...). */
  code?: string | undefined;
}

/** Reads a provider's error body; returns {} when it cannot (not JSON, unknown shape). */
export type ErrorBodyReader = (body: Buffer) => ProviderErrorDetail;

/** OpenAI's envelope, `{"error":{"message","param",...}}`; Azure, Mistral and most compatibles share it. */
export const readOpenAIError: ErrorBodyReader = (body) => {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown } | null;
    const error = parsed?.error;
    if (error !== null && typeof error === 'object') {
      const { message, param, code, type } = error as {
        message?: unknown;
        param?: unknown;
        code?: unknown;
        type?: unknown;
      };
      return {
        message: typeof message === 'string' && message !== '' ? message : undefined,
        param: typeof param === 'string' ? param : undefined,
        code: typeof code === 'string' ? code : typeof type === 'string' ? type : undefined,
      };
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): fall through to the status alone.
  }
  return {};
};

export function retryAfterSeconds(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** What an overloaded upstream without a Retry-After gets: a short pause, never an instant retry storm. */
const defaultOverloadRetryAfterSeconds = 1;

export function upstreamHttpError(
  providerName: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  readError: ErrorBodyReader = readOpenAIError,
): GatewayError {
  const { message, param, code } = readError(body);
  const retryAfter = retryAfterSeconds(headers['retry-after']);
  const upstream = { status, code, headers };
  if (status === 401 || status === 403) {
    return new GatewayError(
      'upstream_auth_failed',
      `provider ${providerName} rejected the gateway's credentials (${status})`,
      { upstream },
    );
  }
  if (status === 429) {
    return new GatewayError('upstream_rate_limited', message ?? `provider ${providerName} is rate limiting`, {
      upstream,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    });
  }
  if (status === 503 || status === 529) {
    return new GatewayError(
      'upstream_overloaded',
      `provider ${providerName} is overloaded (${status})${message === undefined ? '' : `: ${message}`}`,
      { upstream, retryAfterSeconds: retryAfter ?? defaultOverloadRetryAfterSeconds },
    );
  }
  if (status >= 500) {
    const detail = message === undefined ? '' : `: ${message}`;
    return new GatewayError('upstream_error', `provider ${providerName} answered ${status}${detail}`, {
      upstream,
    });
  }
  return new GatewayError(
    'upstream_bad_request',
    message ?? `provider ${providerName} refused the request (${status})`,
    { status, upstream, ...(param === undefined ? {} : { param }) },
  );
}
