/**
 * What every admin endpoint shares: JSON answers, errors in the OpenAI error shape the rest of the
 * gateway uses (`{ "error": { message, type, param, code } }`), the admin key check, and reading a small
 * JSON body. An admin request never touches the request pipeline.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { AccountConflict } from '../accounts/account-store.js';
import { digestOf } from '../auth/virtual-keys.js';

/** Admin bodies are a key or a team: a few hundred bytes. Anything near this is not one. */
const maxAdminBody = 64 * 1024;

export function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A refusal the handler chose: status, code and a message that says what to change. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export function sendError(res: ServerResponse, error: AdminError): void {
  const text = JSON.stringify({
    error: {
      message: error.message,
      type: error.status >= 500 ? 'api_error' : 'invalid_request_error',
      param: error.param,
      code: error.code,
    },
  });
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...error.headers,
  });
  res.end(text);
}

/** Whether the request carries the admin key; answers 401 itself when not. */
export function adminAuthorized(req: IncomingMessage, res: ServerResponse, adminDigest: Buffer): boolean {
  const header = req.headers.authorization;
  const token =
    typeof header === 'string' && header.slice(0, 7).toLowerCase() === 'bearer '
      ? header.slice(7).trim()
      : '';
  const presented = Buffer.from(digestOf(token), 'base64');
  if (token === '' || !timingSafeEqual(presented, adminDigest)) {
    sendError(
      res,
      new AdminError(401, 'unauthorized', 'this endpoint needs the admin key as a Bearer token'),
    );
    return false;
  }
  return true;
}

export function methodNotAllowed(method: string, allowed: readonly string[]): AdminError {
  return new AdminError(
    405,
    'method_not_allowed',
    `${method} is not allowed here; use ${allowed.join(' or ')}`,
    null,
    {
      allow: allowed.join(', '),
    },
  );
}

/** The request's JSON body: 415 when it says it is something else, 413 past 64 KB, 400 when malformed. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(.+\+)?json\b/i.test(type))
    throw new AdminError(415, 'unsupported_media_type', `send application/json, not ${type.slice(0, 100)}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxAdminBody) {
      req.resume();
      throw new AdminError(413, 'request_too_large', `an admin body may have at most ${maxAdminBody} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AdminError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** Parses with a schema; the first problem becomes a 400 naming its field (`limits.rpm`). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path =
    issue?.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
      .join('.')
      .replace(/\.\[/g, '[') ?? '';
  throw new AdminError(
    400,
    'invalid_request',
    `${path === '' ? 'body' : path}: ${issue?.message ?? 'invalid'}`,
    path === '' ? null : path,
  );
}

/**
 * Names (of keys and teams) become metric labels, log fields and database text: printable and short.
 * PostgreSQL refuses NUL in text, so without this check a name could be a 500 there and a 201 on SQLite.
 */
export function checkName(value: string | undefined, param: string): void {
  if (value === undefined) return;
  if (value.length > 128)
    throw new AdminError(400, 'invalid_request', `${param}: at most 128 characters`, param);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value))
    throw new AdminError(400, 'invalid_request', `${param}: control characters are not allowed`, param);
}

/** A time of the account store (epoch ms) as the API shows it: ISO 8601, or null when unset. */
export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** A store rule broken (name taken, team in use...) is the API's 409 with the store's code. */
export function conflict(error: unknown): never {
  if (error instanceof AccountConflict) throw new AdminError(409, error.code, error.message);
  throw error;
}
