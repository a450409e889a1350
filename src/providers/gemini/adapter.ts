/**
 * `gemini` provider: Google's Gemini API, or Vertex AI when `vertex: {project, location}` is configured.
 * Neither speaks an inbound format natively, so every answer is translated: request.ts builds the
 * GenerateContentRequest, response.ts and stream.ts turn answers into canonical responses and parts,
 * embeddings.ts maps embeddings, errors.ts reads Google's error envelope.
 */
import type { Dispatcher } from 'undici';
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import type { ProviderConfig } from '../../config/schema.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { openTranslatedStream } from '../http/translated-stream.js';
import { UpstreamHttp } from '../http/upstream-http.js';
import type { ChatOutcome, EmbeddingsOutcome, ProviderAdapter, UpstreamCall } from '../provider.js';
import {
  embeddingsFromBatch,
  embeddingsFromPredict,
  toBatchEmbedRequest,
  toVertexPredictRequest,
} from './embeddings.js';
import { geminiEndpoint, normaliseModel, type GeminiMethod } from './endpoint.js';
import { geminiHttpError, readErrorBody, readGeminiError } from './errors.js';
import { toGeminiRequest } from './request.js';
import { chatResponseFromGemini } from './response.js';
import { geminiStreamDecoder } from './stream.js';

export function createGeminiAdapter(config: ProviderConfig): ProviderAdapter {
  const endpoint = geminiEndpoint(config);
  const http = new UpstreamHttp(config, endpoint.baseUrl, readGeminiError);

  /** Sends; an error status becomes the GatewayError Google's envelope calls for (errors.ts). */
  async function send(
    model: string,
    method: GeminiMethod,
    body: unknown,
    call: UpstreamCall<unknown>,
    deadline: AttemptDeadline,
  ): Promise<Dispatcher.ResponseData> {
    const response = await http.send(
      {
        path: endpoint.path(model, method),
        headers: [...endpoint.headers, 'x-request-id', call.requestId],
        body: JSON.stringify(body),
      },
      call,
      deadline,
    );
    if (response.statusCode < 400) return response;
    const errorBody = await readErrorBody(response);
    deadline.release();
    throw geminiHttpError(config.name, response.statusCode, response.headers, errorBody);
  }

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      const model = normaliseModel(call.model);
      // Translation errors are the client's 400s: raised before any timer or socket is taken.
      const request = toGeminiRequest(call.body, config.name, model);
      const options = { provider: config.name, model, singleToolCall: request.singleToolCall };
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
      const method = call.stream ? 'streamGenerateContent' : 'generateContent';
      const response = await send(model, method, request.body, call, deadline);
      if (call.stream) {
        return openTranslatedStream(response, deadline, call, config.name, geminiStreamDecoder(options));
      }
      deadline.firstToken();
      const parsed = await http.readJson(response, deadline);
      call.onFirstToken();
      return { kind: 'response', response: chatResponseFromGemini(parsed, options) };
    },

    async embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      const model = normaliseModel(call.model);
      const request = endpoint.vertex
        ? toVertexPredictRequest(call.body, config.name)
        : toBatchEmbedRequest(call.body, model, config.name);
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, false);
      const method = endpoint.vertex ? 'predict' : 'batchEmbedContents';
      const response = await send(model, method, request.body, call, deadline);
      const parsed = await http.readJson(response, deadline);
      const answer = endpoint.vertex
        ? embeddingsFromPredict(parsed, request, model, config.name)
        : embeddingsFromBatch(parsed, request, model, config.name);
      return { kind: 'response', response: answer };
    },

    async close(): Promise<void> {
      await http.close();
    },
  };
}
