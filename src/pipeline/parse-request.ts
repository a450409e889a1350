/** Validates the body in the route's format and records the model the client asked for. */
import { parseEmbeddingsRequest } from '../formats/openai-embeddings/parse-request.js';
import type { Stage } from './context.js';

// Not async: it only hands on to next() (see authenticate.ts).
export const parseRequest: Stage = (ctx, next) => {
  if (ctx.format !== undefined) {
    ctx.chat = ctx.format.parse(ctx.json);
    ctx.requestedModel = ctx.chat.model;
  } else {
    ctx.embeddings = parseEmbeddingsRequest(ctx.json);
    ctx.requestedModel = ctx.embeddings.model;
  }
  return next();
};
