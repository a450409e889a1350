/** A canonical EmbeddingsResponse → OpenAI's embeddings list object. */
import type { EmbeddingsResponse } from '../../canonical/embeddings.js';

export function embeddingsBody(response: EmbeddingsResponse): string {
  return JSON.stringify({
    object: 'list',
    data: response.vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model: response.model,
    usage: { prompt_tokens: response.usage.inputTokens, total_tokens: response.usage.inputTokens },
  });
}
