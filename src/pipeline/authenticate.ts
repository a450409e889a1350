/** Resolves the virtual key from `Authorization: Bearer <key>` (or `x-api-key`). 401 when unknown. */
import type { Directory } from '../auth/directory.js';
import { anonymousKey } from '../auth/virtual-keys.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Stage } from './context.js';

function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  // RFC 7235: the scheme is case-insensitive.
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

export function authenticate(directory: Directory): Stage {
  const keys = directory.keys;
  // Not async: a stage that only hands on to next() returns its promise rather than wrapping it in another
  // (one promise and one resolution less per request; compose turns a throw into a rejection).
  return (ctx, next) => {
    if (directory.open) {
      ctx.key = anonymousKey;
      ctx.authenticatedAt = performance.now();
      return next();
    }
    const apiKey = ctx.req.headers['x-api-key'];
    const token =
      bearerToken(ctx.req.headers.authorization) ?? (typeof apiKey === 'string' ? apiKey : undefined);
    if (token === undefined) {
      throw new GatewayError('unauthorized', 'missing API key: send Authorization: Bearer <virtual key>');
    }
    const key = keys.verify(token);
    if (key === undefined) throw new GatewayError('unauthorized', 'invalid API key');
    ctx.key = key;
    ctx.authenticatedAt = performance.now();
    return next();
  };
}
