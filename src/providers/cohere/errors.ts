/**
 * Cohere's error body: `{"id": "...", "message": "..."}` for every status
 * (https://docs.cohere.com/v2/reference/errors). The message names the field at fault in its text only.
 */
import type { ErrorBodyReader } from '../http/upstream-errors.js';

export const readCohereError: ErrorBodyReader = (body) => {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown } | null;
    const message = parsed?.message;
    if (typeof message === 'string' && message !== '') return { message };
  } catch {
    // Not JSON (a proxy's page): the status alone speaks.
  }
  return {};
};
