// Embeddings and token counts: the Gemini API's embedContent and batchEmbedContents, Vertex AI's predict
// (text-embedding and gemini-embedding models), and countTokens on both.
import { embeddingVector, estimateTokens } from '../engine.js';
import { isObject, type JsonObject as Json } from '../request.js';
import { invalidArgument } from './errors.js';
import { readPrompt } from './plan.js';
import { checkGenerateRequest, field } from './request.js';

const MAX_BATCH = 100;
const MAX_DIMENSIONS = 3072;

/** gemini-embedding-001 embeds in 3072 dimensions, the older text-embedding models in 768. */
function defaultDimensions(model: string): number {
  return model.startsWith('gemini-embedding') ? 3072 : 768;
}

function readDimensions(value: unknown, model: string, at: string): number {
  if (value === undefined || value === null) return defaultDimensions(model);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_DIMENSIONS) {
    throw invalidArgument(`* ${at}.output_dimensionality: must be an integer in [1, ${MAX_DIMENSIONS}]\n`);
  }
  return value;
}

function textOf(content: unknown, at: string): string {
  const parts = isObject(content) ? content['parts'] : undefined;
  if (!Array.isArray(parts) || parts.length === 0)
    throw invalidArgument(`* ${at}.content.parts: must not be empty\n`);
  let text = '';
  for (const part of parts) if (isObject(part) && typeof part['text'] === 'string') text += part['text'];
  return text;
}

function values(text: string, dimensions: number): number[] {
  return Array.from(embeddingVector(text, dimensions));
}

/** POST models/{m}:embedContent → {"embedding":{"values":[...]}}. */
export function embedContentBody(body: Json, model: string): string {
  const text = textOf(body['content'], 'EmbedContentRequest');
  const dimensions = readDimensions(field(body, 'outputDimensionality'), model, 'EmbedContentRequest');
  return JSON.stringify({ embedding: { values: values(text, dimensions) } });
}

/** POST models/{m}:batchEmbedContents → {"embeddings":[{"values":[...]}, ...]}. */
export function batchEmbedBody(body: Json, model: string): string {
  const requests = body['requests'];
  if (!Array.isArray(requests) || requests.length === 0) {
    throw invalidArgument('* BatchEmbedContentsRequest.requests: requests is not specified\n');
  }
  if (requests.length > MAX_BATCH) {
    throw invalidArgument(
      `* BatchEmbedContentsRequest.requests: at most ${MAX_BATCH} requests can be in one batch\n`,
    );
  }
  const embeddings = requests.map((request: unknown, i) => {
    const at = `BatchEmbedContentsRequest.requests[${i}]`;
    if (!isObject(request)) throw invalidArgument(`* ${at}: must be an object\n`);
    const named = request['model'];
    // "Model names should match between the batch request and each of its requests."
    if (named !== undefined && named !== `models/${model}`) {
      throw invalidArgument(
        `* ${at}.model: Model name in the request (${String(named)}) does not match the model in the URL (models/${model}).\n`,
      );
    }
    const dimensions = readDimensions(field(request, 'outputDimensionality'), model, at);
    return { values: values(textOf(request['content'], at), dimensions) };
  });
  return JSON.stringify({ embeddings });
}

/** Vertex AI POST .../models/{m}:predict with {"instances":[{"content"}], "parameters"}. */
export function predictBody(body: Json, model: string): string {
  const instances = body['instances'];
  if (!Array.isArray(instances) || instances.length === 0) {
    throw invalidArgument('* PredictRequest.instances: instances is not specified\n');
  }
  const parameters = isObject(body['parameters']) ? body['parameters'] : {};
  const dimensions = readDimensions(
    field(parameters, 'outputDimensionality'),
    model,
    'PredictRequest.parameters',
  );
  let characters = 0;
  const predictions = instances.map((instance: unknown, i) => {
    const content = isObject(instance) ? instance['content'] : undefined;
    if (typeof content !== 'string')
      throw invalidArgument(`* PredictRequest.instances[${i}].content: required\n`);
    characters += content.length;
    return {
      embeddings: {
        values: values(content, dimensions),
        statistics: { truncated: false, token_count: estimateTokens(content) },
      },
    };
  });
  return JSON.stringify({ predictions, metadata: { billableCharacterCount: characters } });
}

/** POST models/{m}:countTokens with {contents} or {generateContentRequest}. */
export function countTokensBody(body: Json, model: string, vertex: boolean): string {
  const wrapped = field(body, 'generateContentRequest');
  const request = isObject(wrapped) ? wrapped : body;
  if (!Array.isArray(request['contents']) || request['contents'].length === 0) {
    throw invalidArgument('* CountTokensRequest.contents: contents is not specified\n');
  }
  const contents = checkGenerateRequest({ contents: request['contents'] }, vertex);
  const { tokens } = readPrompt(contents, field(request, 'systemInstruction'), model);
  const answer: Json = {
    totalTokens: tokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: tokens }],
  };
  if (vertex) answer['totalBillableCharacters'] = tokens * 4;
  return JSON.stringify(answer);
}
