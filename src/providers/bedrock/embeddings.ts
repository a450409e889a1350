/**
 * Embeddings on Bedrock are model-specific InvokeModel calls; this speaks Amazon Titan Text Embeddings
 * (v2 and v1: https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html),
 * POST /model/{modelId}/invoke with `{"inputText", "dimensions", "normalize"}`. Titan embeds one text per
 * call, so a list of inputs is one call per input, run concurrently (the pool bounds the connections).
 * Other embedding models (Cohere Embed on Bedrock) and token-id inputs are refused with a 400.
 */
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import { unsupported } from '../../canonical/chat-request.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import type { EmbeddingsOutcome, UpstreamCall } from '../provider.js';
import type { BedrockClient } from './adapter.js';
import { isObject } from './response.js';

const isTitanText = (modelId: string): boolean => /amazon\.titan-embed-text-v\d/.test(modelId);
const isTitanV1 = (modelId: string): boolean => /amazon\.titan-embed-text-v1/.test(modelId);

function textsOf(input: unknown, provider: string): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === 'string')) return input as string[];
  throw unsupported('token-id embedding inputs (send text)', provider, 'input');
}

/** Little-endian float32 in base64: OpenAI's `encoding_format: "base64"`. */
function base64Of(vector: number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString('base64');
}

export async function titanEmbeddings(
  client: BedrockClient,
  call: UpstreamCall<EmbeddingsRequestBody>,
): Promise<EmbeddingsOutcome> {
  const provider = client.config.name;
  if (!isTitanText(call.model)) {
    throw unsupported(`embeddings with model ${call.model} (Titan Text Embeddings only)`, provider, 'model');
  }
  const texts = textsOf(call.body.input, provider);
  const dimensions = call.body['dimensions'];
  if (typeof dimensions === 'number' && isTitanV1(call.model)) {
    throw unsupported('"dimensions" with Titan Text Embeddings v1', provider, 'dimensions');
  }
  const base64 = call.body['encoding_format'] === 'base64';

  const embedOne = async (text: string): Promise<{ vector: number[]; tokens: number }> => {
    const body = JSON.stringify(
      isTitanV1(call.model)
        ? { inputText: text }
        : { inputText: text, normalize: true, ...(typeof dimensions === 'number' ? { dimensions } : {}) },
    );
    const request = await client.request(call.model, 'invoke', body, 'application/json');
    const deadline = new AttemptDeadline(call.cancel, call.timeouts, false);
    const response = await client.send(request, call, deadline);
    const parsed = await client.http.readJson(response, deadline);
    if (!isObject(parsed) || !Array.isArray(parsed['embedding'])) {
      throw new GatewayError('upstream_error', `provider ${provider} answered without an embedding`);
    }
    const tokens = parsed['inputTextTokenCount'];
    return { vector: parsed['embedding'] as number[], tokens: typeof tokens === 'number' ? tokens : 0 };
  };

  const results = await Promise.all(texts.map(embedOne));
  call.onFirstToken();
  let inputTokens = 0;
  for (const result of results) inputTokens += result.tokens;
  return {
    kind: 'response',
    response: {
      model: call.model,
      vectors: results.map((r) => (base64 ? base64Of(r.vector) : r.vector)),
      usage: { inputTokens, outputTokens: 0 },
    },
  };
}
