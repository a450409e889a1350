/**
 * Canonical (OpenAI) embeddings body → Gemini embeddings, and back.
 *
 * Gemini API: `models/{m}:batchEmbedContents` with one request per input
 * (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents); its answer reports no token
 * usage, so usage is estimated at 4 characters per token (the rule of thumb Google documents for Gemini
 * models), enough for budgets and rate limits to see the right order of magnitude.
 * Vertex AI: `:predict` with one instance per input
 * (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api), whose
 * answer counts tokens per input (`statistics.token_count`).
 */
import type { EmbeddingsRequestBody, EmbeddingsResponse } from '../../canonical/embeddings.js';
import { unsupported } from '../../canonical/chat-request.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject } from './response.js';
import { type Json } from '../../canonical/json.js';

export interface GeminiEmbeddingsRequest {
  body: Json;
  inputs: string[];
  base64: boolean;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param });
}

function readInputs(input: unknown, provider: string): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    if (input.every((item) => typeof item === 'string')) return input as string[];
    if (input.every((item) => typeof item === 'number' || Array.isArray(item))) {
      throw unsupported('token-id embedding inputs', provider, 'input');
    }
  }
  throw invalid('input', 'expected a string or a non-empty array of strings');
}

function readOptions(body: EmbeddingsRequestBody): { dimensions: number | undefined; base64: boolean } {
  const format = body['encoding_format'];
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') {
    throw invalid('encoding_format', 'expected "float" or "base64"');
  }
  const dimensions = body['dimensions'];
  if (dimensions !== undefined && dimensions !== null && (typeof dimensions !== 'number' || dimensions < 1)) {
    throw invalid('dimensions', 'expected a positive integer');
  }
  return { dimensions: dimensions ?? undefined, base64: format === 'base64' };
}

export function toBatchEmbedRequest(
  body: EmbeddingsRequestBody,
  model: string,
  provider: string,
): GeminiEmbeddingsRequest {
  const inputs = readInputs(body.input, provider);
  const { dimensions, base64 } = readOptions(body);
  const name = `models/${model}`;
  const requests = inputs.map((text) => {
    const request: Json = { model: name, content: { parts: [{ text }] } };
    if (dimensions !== undefined) request['outputDimensionality'] = dimensions;
    return request;
  });
  return { body: { requests }, inputs, base64 };
}

export function toVertexPredictRequest(
  body: EmbeddingsRequestBody,
  provider: string,
): GeminiEmbeddingsRequest {
  const inputs = readInputs(body.input, provider);
  const { dimensions, base64 } = readOptions(body);
  const out: Json = { instances: inputs.map((content) => ({ content })) };
  if (dimensions !== undefined) out['parameters'] = { outputDimensionality: dimensions };
  return { body: out, inputs, base64 };
}

/** Little-endian float32 bytes in base64: OpenAI's `encoding_format: "base64"`. */
export function float32Base64(values: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i] as number, i * 4);
  return bytes.toString('base64');
}

function vectorOf(value: unknown, provider: string): number[] {
  if (isObject(value) && Array.isArray(value['values'])) return value['values'] as number[];
  throw new GatewayError('upstream_error', `provider ${provider} answered an embedding without values`);
}

function shaped(vectors: number[][], base64: boolean): (number[] | string)[] {
  return base64 ? vectors.map(float32Base64) : vectors;
}

const estimatedTokens = (inputs: readonly string[]): number =>
  inputs.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);

export function embeddingsFromBatch(
  parsed: unknown,
  request: GeminiEmbeddingsRequest,
  model: string,
  provider: string,
): EmbeddingsResponse {
  const embeddings = isObject(parsed) ? parsed['embeddings'] : undefined;
  if (!Array.isArray(embeddings) || embeddings.length !== request.inputs.length) {
    throw new GatewayError('upstream_error', `provider ${provider} answered a malformed embeddings body`);
  }
  const inputTokens = estimatedTokens(request.inputs);
  return {
    model,
    vectors: shaped(
      embeddings.map((e: unknown) => vectorOf(e, provider)),
      request.base64,
    ),
    usage: { inputTokens, outputTokens: 0 },
  };
}

export function embeddingsFromPredict(
  parsed: unknown,
  request: GeminiEmbeddingsRequest,
  model: string,
  provider: string,
): EmbeddingsResponse {
  const predictions = isObject(parsed) ? parsed['predictions'] : undefined;
  if (!Array.isArray(predictions) || predictions.length !== request.inputs.length) {
    throw new GatewayError('upstream_error', `provider ${provider} answered a malformed embeddings body`);
  }
  let inputTokens = 0;
  let counted = true;
  const vectors = predictions.map((prediction: unknown) => {
    const embeddings = isObject(prediction) ? prediction['embeddings'] : undefined;
    const statistics = isObject(embeddings) ? embeddings['statistics'] : undefined;
    const tokens = isObject(statistics) ? statistics['token_count'] : undefined;
    if (typeof tokens === 'number') inputTokens += tokens;
    else counted = false;
    return vectorOf(embeddings, provider);
  });
  if (!counted) inputTokens = estimatedTokens(request.inputs);
  return { model, vectors: shaped(vectors, request.base64), usage: { inputTokens, outputTokens: 0 } };
}
