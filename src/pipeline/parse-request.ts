/** Validates the body in the route's format and records the model the client asked for. */
import { parseChatRequest } from '../formats/openai-chat/parse-request.js';
import { parseEmbeddingsRequest } from '../formats/openai-embeddings/parse-request.js';
import type { Stage } from './context.js';

export const parseRequest: Stage = async (ctx, next) => {
  if (ctx.route === 'chat') {
    ctx.chat = parseChatRequest(ctx.json);
    ctx.requestedModel = ctx.chat.model;
  } else {
    ctx.embeddings = parseEmbeddingsRequest(ctx.json);
    ctx.requestedModel = ctx.embeddings.model;
  }
  return next();
};
