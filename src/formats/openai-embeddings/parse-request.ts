/** Validates an OpenAI embeddings body: the fields needed to route it, named in every 400. */
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import { GatewayError } from '../../errors/gateway-error.js';

export interface ParsedEmbeddingsRequest {
  body: EmbeddingsRequestBody;
  model: string;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param });
}

function isValidInput(input: unknown): boolean {
  if (typeof input === 'string') return true;
  if (!Array.isArray(input) || input.length === 0) return false;
  const first: unknown = input[0];
  if (typeof first === 'string') return input.every((item) => typeof item === 'string');
  if (typeof first === 'number') return input.every((item) => Number.isInteger(item));
  if (Array.isArray(first)) {
    return input.every(
      (item) => Array.isArray(item) && item.length > 0 && item.every((n) => Number.isInteger(n)),
    );
  }
  return false;
}

export function parseEmbeddingsRequest(value: unknown): ParsedEmbeddingsRequest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError('invalid_request', 'body: expected a JSON object');
  }
  const body = value as Record<string, unknown>;
  const model = body['model'];
  if (model === undefined) throw invalid('model', 'required');
  if (typeof model !== 'string' || model === '') throw invalid('model', 'expected a non-empty string');
  const input = body['input'];
  if (input === undefined) throw invalid('input', 'required');
  if (!isValidInput(input)) {
    throw invalid(
      'input',
      'expected a string, an array of strings, an array of token ids or an array of token-id arrays',
    );
  }
  const format = body['encoding_format'];
  if (format !== undefined && format !== 'float' && format !== 'base64') {
    throw invalid('encoding_format', 'expected "float" or "base64"');
  }
  const dimensions = body['dimensions'];
  if (
    dimensions !== undefined &&
    !(typeof dimensions === 'number' && Number.isInteger(dimensions) && dimensions > 0)
  ) {
    throw invalid('dimensions', 'expected a positive integer');
  }
  return { body: body as EmbeddingsRequestBody, model };
}
