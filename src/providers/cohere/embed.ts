/**
 * OpenAI embeddings body ↔ Cohere v2 Embed (POST /v2/embed, https://docs.cohere.com/v2/reference/embed).
 * Cohere needs an `input_type` for its v3+ models; OpenAI has none, so it defaults to `search_document` (the
 * type for texts stored in an index) and a client may choose another with the extension field `input_type`
 * (search_query, classification, clustering). Vectors are asked for as floats; a client that wants OpenAI's
 * base64 gets the floats encoded here, as little-endian float32 the way OpenAI sends them.
 */
import { unsupported } from '../../canonical/chat-request.js';
import type { EmbeddingsRequestBody, EmbeddingsResponse } from '../../canonical/embeddings.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { isObject } from './response.js';
import { type Json } from '../../canonical/json.js';

const inputTypes = new Set(['search_document', 'search_query', 'classification', 'clustering']);

export function toCohereEmbed(body: EmbeddingsRequestBody, model: string, provider: string): Json {
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || !texts.every((text) => typeof text === 'string')) {
    throw unsupported('token-id embedding input', provider, 'input');
  }
  const inputType = body['input_type'] ?? 'search_document';
  if (typeof inputType !== 'string' || !inputTypes.has(inputType)) {
    throw new GatewayError(
      'invalid_request',
      `input_type: expected one of ${[...inputTypes].join(', ')} for provider ${provider}`,
      { param: 'input_type' },
    );
  }
  const out: Json = { model, texts, input_type: inputType, embedding_types: ['float'] };
  const dimensions = body['dimensions'];
  if (typeof dimensions === 'number') out['output_dimension'] = dimensions;
  return out;
}

function base64Of(vector: number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString('base64');
}

export function embeddingsFromCohere(
  parsed: unknown,
  model: string,
  base64: boolean,
  provider: string,
): EmbeddingsResponse {
  const embeddings = isObject(parsed) ? parsed['embeddings'] : undefined;
  const floats = isObject(embeddings) ? embeddings['float'] : undefined;
  if (!Array.isArray(floats)) {
    throw new GatewayError('upstream_error', `provider ${provider} answered without float embeddings`);
  }
  const meta = isObject(parsed) && isObject(parsed['meta']) ? parsed['meta'] : {};
  const billed = isObject(meta['billed_units']) ? meta['billed_units'] : {};
  const inputTokens = typeof billed['input_tokens'] === 'number' ? billed['input_tokens'] : 0;
  return {
    model,
    vectors: (floats as number[][]).map((vector) => (base64 ? base64Of(vector) : vector)),
    usage: { inputTokens, outputTokens: 0 },
  };
}
