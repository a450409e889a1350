/**
 * `cohere` provider: Cohere's v2 API (https://api.cohere.com), chat at POST /v2/chat (`stream: true` for
 * SSE) and embeddings at POST /v2/embed, Bearer auth. Cohere speaks no inbound format, so every answer is
 * translated: request.ts out, response.ts / stream.ts / embed.ts back.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import type { ProviderConfig } from '../../config/schema.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { openTranslatedStream } from '../http/translated-stream.js';
import { parseJsonBody, UpstreamHttp } from '../http/upstream-http.js';
import type { ChatOutcome, EmbeddingsOutcome, ProviderAdapter, UpstreamCall } from '../provider.js';
import { embeddingsFromCohere, toCohereEmbed } from './embed.js';
import { readCohereError } from './errors.js';
import { toCohereChat } from './request.js';
import { chatResponseFromCohere } from './response.js';
import { cohereStreamDecoder } from './stream.js';

const defaultBaseUrl = 'https://api.cohere.com';

export function createCohereAdapter(config: ProviderConfig): ProviderAdapter {
  // The paths carry the version; a base_url given with /v2 (as Cohere's samples print it) is tolerated.
  const base = (config.base_url ?? defaultBaseUrl).replace(/\/+$/, '').replace(/\/v2$/, '');
  const http = new UpstreamHttp(config, base, readCohereError);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-client-name': 'sluice',
    ...config.headers,
  };
  if (config.api_key !== undefined && config.api_key !== '')
    headers['authorization'] = `Bearer ${config.api_key}`;
  const headerList = Object.entries(headers).flat();
  const request = (path: string, body: Record<string, unknown>, call: UpstreamCall<unknown>) => ({
    path,
    headers: [...headerList, 'x-request-id', call.requestId],
    body: JSON.stringify(body),
  });

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      const body = toCohereChat(call.body, call.model, call.stream, config.name);
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
      if (call.stream) {
        const response = await http.sendOk(request('/v2/chat', body, call), call, deadline);
        const decoder = cohereStreamDecoder(call.model, config.name);
        return openTranslatedStream(response, deadline, call, config.name, decoder);
      }
      const answer = await http.fetchWhole(request('/v2/chat', body, call), call, deadline);
      const parsed = parseJsonBody(answer.body, config.name);
      call.onFirstToken();
      return { kind: 'response', response: chatResponseFromCohere(parsed, call.model, config.name) };
    },

    async embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      const body = toCohereEmbed(call.body, call.model, config.name);
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, false);
      const answer = await http.fetchWhole(request('/v2/embed', body, call), call, deadline);
      const parsed = parseJsonBody(answer.body, config.name);
      const base64 = call.body['encoding_format'] === 'base64';
      return { kind: 'response', response: embeddingsFromCohere(parsed, call.model, base64, config.name) };
    },

    close: () => http.close(),
  };
}
