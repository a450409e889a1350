// POST /v1/embeddings: string, string[], token-id or token-id[][] inputs; float or base64 vectors.
import { afterLatency } from './context.js';
import type { SimulatorContext } from './context.js';
import { embeddingBase64, embeddingVector, estimateTokens } from './engine.js';
import type { EmbeddingInput } from './engine.js';
import { invalidRequest, invalidType, invalidValue, missingParameter } from './errors.js';
import type { Exchange } from './exchange.js';
import { isAbsent, isObject, requireModel } from './request.js';

const MAX_INPUTS = 2048;
const MAX_DIMENSIONS = 16_384;

const isTokenIds = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((v) => Number.isInteger(v) && v >= 0);

const invalidInput = (): ReturnType<typeof invalidRequest> =>
  invalidRequest(
    "'$.input' is invalid. Expected a non-empty string, an array of non-empty strings, an array of token ids " +
      'or an array of arrays of token ids.',
    'input',
    'invalid_value',
  );

function readInputs(value: unknown): EmbeddingInput[] {
  if (isAbsent(value)) throw missingParameter('input');
  if (typeof value === 'string') {
    if (value === '') throw invalidInput();
    return [value];
  }
  if (!Array.isArray(value) || value.length === 0) throw invalidInput();
  if (value.length > MAX_INPUTS) {
    throw invalidRequest(`'$.input' must have at most ${MAX_INPUTS} items.`, 'input', 'invalid_value');
  }
  if (value.every((v) => typeof v === 'string' && v !== '')) return value as string[];
  if (isTokenIds(value)) return [value];
  if (value.every(isTokenIds)) return value as number[][];
  throw invalidInput();
}

function defaultDimensions(model: string): number {
  return model.includes('large') ? 3072 : 1536;
}

function readDimensions(body: Record<string, unknown>, model: string): number {
  const dimensions = body['dimensions'];
  if (isAbsent(dimensions)) return defaultDimensions(model);
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions)) {
    throw invalidType('dimensions', 'an integer', dimensions);
  }
  if (dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw invalidValue(
      'dimensions',
      `expected an integer from 1 to ${MAX_DIMENSIONS}, but got ${dimensions}.`,
    );
  }
  return dimensions;
}

export function planEmbeddings(body: unknown): { model: string; body: () => string } {
  if (!isObject(body)) throw invalidRequest('Invalid request body: expected a JSON object.');
  const model = requireModel(body);
  const inputs = readInputs(body['input']);
  const format = body['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw invalidValue('encoding_format', "expected 'float' or 'base64'.");
  }
  const dimensions = readDimensions(body, model);
  // Built only when the response is due, so an injected fault costs no vector work.
  const build = (): string => {
    let promptTokens = 0;
    const data = inputs.map((input, index) => {
      promptTokens += typeof input === 'string' ? estimateTokens(input) : input.length;
      const vector = embeddingVector(input, dimensions);
      const embedding = format === 'base64' ? embeddingBase64(vector) : Array.from(vector);
      return { object: 'embedding', index, embedding };
    });
    return JSON.stringify({
      object: 'list',
      data,
      model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  };
  return { model, body: build };
}

export function handleEmbeddings(ex: Exchange, body: unknown, ctx: SimulatorContext): void {
  const request = planEmbeddings(body);
  afterLatency(ex, ctx, request.model, () => ex.sendJson(200, request.body()));
}
