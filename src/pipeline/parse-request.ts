/** Validates the body in the route's format and records the model the client asked for. */
import { parseEmbeddingsRequest } from '../formats/openai-embeddings/parse-request.js';
import type { Stage } from './context.js';

export const parseRequest: Stage = async (ctx, next) => {
  if (ctx.format !== undefined) {
    ctx.chat = ctx.format.parse(ctx.json);
    ctx.requestedModel = ctx.chat.model;
  } else {
    ctx.embeddings = parseEmbeddingsRequest(ctx.json);
    ctx.requestedModel = ctx.embeddings.model;
  }
  return next();
};
