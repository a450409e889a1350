// Cohere's error answers: `{"id": "<uuid>", "message": "..."}` for every status, with Cohere's wording
// (https://docs.cohere.com/v2/reference/errors). The message is the only detail Cohere gives.
import { nextId } from '../exchange.js';
import type { Exchange } from '../exchange.js';

/** A rejection the Cohere handlers throw; the format server answers it. */
export class CohereApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Cohere ids are UUIDs; made from the simulator's id sequence so they stay unique without crypto. */
export function cohereId(): string {
  const hex = nextId().padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function cohereErrorBody(message: string): string {
  return JSON.stringify({ id: cohereId(), message });
}

export function sendCohereError(ex: Exchange, status: number, message: string, headers?: string[]): void {
  ex.sendJson(status, cohereErrorBody(message), headers);
}

export const invalidRequest = (message: string): CohereApiError =>
  new CohereApiError(400, `invalid request: ${message}`);
