// POST /v2/embed: texts in, vectors by type out (https://docs.cohere.com/v2/reference/embed). Vectors come
// from the engine (a hash of the text), so the same text embeds the same way in every format.
import { embeddingBase64, embeddingVector, estimateTokens } from '../engine.js';
import { isAbsent, isObject } from '../request.js';
import { cohereId, invalidRequest } from './errors.js';

const MAX_TEXTS = 96;
const INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering', 'image']);
const EMBEDDING_TYPES = new Set(['float', 'base64']);
/** embed-v4.0 offers these Matryoshka sizes; the v3 models are 1024 wide (384 for the light ones). */
const V4_DIMENSIONS = new Set([256, 512, 1024, 1536]);

function dimensionsFor(model: string, requested: unknown): number {
  if (isAbsent(requested)) {
    if (model.startsWith('embed-v4')) return 1536;
    return model.includes('light') ? 384 : 1024;
  }
  if (typeof requested !== 'number' || !V4_DIMENSIONS.has(requested) || !model.startsWith('embed-v4')) {
    throw invalidRequest(`output_dimension ${String(requested)} is not supported for model ${model}`);
  }
  return requested;
}

export function planCohereEmbed(body: unknown): { model: string; body: () => string } {
  if (!isObject(body)) throw invalidRequest('request body must be a JSON object');
  const model = body['model'];
  if (typeof model !== 'string' || model === '') throw invalidRequest('model must be a non-empty string');
  const texts = body['texts'];
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
    throw invalidRequest('texts must be a non-empty list of strings');
  }
  if (texts.length > MAX_TEXTS) {
    throw invalidRequest(`total number of texts must be at most ${MAX_TEXTS} - received ${texts.length}`);
  }
  const inputType = body['input_type'];
  if (typeof inputType !== 'string' || !INPUT_TYPES.has(inputType)) {
    throw invalidRequest('valid input_type must be provided with the provided model');
  }
  const types = body['embedding_types'] ?? ['float'];
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => EMBEDDING_TYPES.has(t as string))) {
    throw invalidRequest('embedding_types must be a list of: float, base64');
  }
  const dimensions = dimensionsFor(model, body['output_dimension']);
  const build = (): string => {
    let inputTokens = 0;
    const vectors = (texts as string[]).map((text) => {
      inputTokens += estimateTokens(text);
      return embeddingVector(text, dimensions);
    });
    const embeddings: Record<string, unknown> = {};
    for (const type of types as string[]) {
      embeddings[type] = type === 'float' ? vectors.map((v) => Array.from(v)) : vectors.map(embeddingBase64);
    }
    return JSON.stringify({
      id: cohereId(),
      embeddings,
      texts,
      meta: { api_version: { version: '2' }, billed_units: { input_tokens: inputTokens } },
      response_type: 'embeddings_by_type',
    });
  };
  return { model, body: build };
}
