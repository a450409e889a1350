/**
 * An OpenAI-format error answer → GatewayError. The provider's message is kept (it is what the client
 * needs to fix a bad request), except on 401/403: those concern the gateway's own credential, and OpenAI's
 * message quotes part of the key, so they become a generic 502.
 */
import { GatewayError } from '../../errors/gateway-error.js';

interface OpenAIErrorBody {
  message?: unknown;
  param?: unknown;
}

function readError(body: Buffer): OpenAIErrorBody {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: OpenAIErrorBody } | null;
    if (parsed && typeof parsed.error === 'object' && parsed.error !== null) return parsed.error;
  } catch {
    // Not JSON (a proxy's HTML page, say): fall through to the status alone.
  }
  return {};
}

export function retryAfterSeconds(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export function upstreamHttpError(
  providerName: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): GatewayError {
  const error = readError(body);
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : undefined;
  if (status === 401 || status === 403) {
    return new GatewayError(
      'upstream_auth_failed',
      `provider ${providerName} rejected the gateway's credentials (${status})`,
    );
  }
  if (status === 429) {
    const retryAfter = retryAfterSeconds(headers['retry-after']);
    return new GatewayError('upstream_rate_limited', message ?? `provider ${providerName} is rate limiting`, {
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    });
  }
  if (status >= 500) {
    const detail = message === undefined ? '' : `: ${message}`;
    return new GatewayError('upstream_error', `provider ${providerName} answered ${status}${detail}`);
  }
  return new GatewayError(
    'upstream_bad_request',
    message ?? `provider ${providerName} refused the request (${status})`,
    {
      status,
      ...(typeof error.param === 'string' ? { param: error.param } : {}),
    },
  );
}
