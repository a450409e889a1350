/**
 * The end-user a request is made for: the `x-sluice-end-user` header, else the body's `user` field (the
 * header wins: it is the gateway's own, set by the app that holds the key). At most 256 characters.
 */
import type { RequestContext } from './context.js';

const maxLength = 256;

export function endUserOf(ctx: RequestContext): string | undefined {
  const header = ctx.req.headers['x-sluice-end-user'];
  if (typeof header === 'string' && header !== '') return header.slice(0, maxLength);
  const user = ctx.chat?.body['user'] ?? ctx.embeddings?.body.user;
  return typeof user === 'string' && user !== '' ? user.slice(0, maxLength) : undefined;
}
