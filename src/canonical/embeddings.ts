/** Embeddings: the OpenAI body is the canonical request; the answer is vectors plus usage. */
import type { Usage } from './usage.js';

export type EmbeddingsRequestBody = Record<string, unknown> & { model: string; input: unknown };

export interface EmbeddingsResponse {
  model: string;
  /** Float vectors, or base64 strings of little-endian float32 when the client asked for base64. */
  vectors: (number[] | string)[];
  usage: Usage;
}
