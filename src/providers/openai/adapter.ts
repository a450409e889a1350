/**
 * `openai` and `openai-compatible` providers: any upstream that speaks OpenAI's chat-completions and
 * embeddings wire format (OpenAI, vLLM, Ollama, Groq, Together, Mistral, DeepSeek, OpenRouter, xAI, ...).
 *
 * When the inbound format is OpenAI too, answers pass through as bytes: the body is never re-serialised
 * and SSE chunks are written to the client as they arrive. One undici Pool per provider keeps
 * connections alive across requests.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import { usageFromOpenAIText, type Usage } from '../../canonical/usage.js';
import type { ProviderConfig } from '../../config/schema.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { openRawStream } from '../http/raw-stream.js';
import { openTranslatedStream } from '../http/translated-stream.js';
import { UpstreamHttp, type UpstreamRequest } from '../http/upstream-http.js';
import type { WholeResponse } from '../http/whole-answer.js';
import type {
  ChatOutcome,
  EmbeddingsOutcome,
  ProviderAdapter,
  RawResponse,
  UpstreamCall,
} from '../provider.js';
import { OpenAISseTap } from './sse-tap.js';
import { chatResponseFromOpenAI, openAIStreamDecoder, toOpenAIWire } from './translate.js';

const defaultBaseUrl = 'https://api.openai.com/v1';
const usageMarker = Buffer.from('"usage":{');

export function createOpenAIAdapter(config: ProviderConfig): ProviderAdapter {
  const http = new UpstreamHttp(config, config.base_url ?? defaultBaseUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
  if (config.api_key !== undefined && config.api_key !== '')
    headers['authorization'] = `Bearer ${config.api_key}`;
  const headerList = Object.entries(headers).flat();
  return createOpenAIWireAdapter(config, http, (path) => path, headerList);
}

/**
 * The adapter body shared by every provider that speaks OpenAI's wire format (`openai`, `openai-compatible`,
 * `azure`, `mistral`): they differ only in the URL of each endpoint, the auth headers and small request
 * rewrites (`rewrite`). With an OpenAI client the answer passes through as bytes; with another inbound format
 * it is translated into canonical parts (translate.ts).
 */
export function createOpenAIWireAdapter(
  config: ProviderConfig,
  http: UpstreamHttp,
  pathFor: (endpoint: '/chat/completions' | '/embeddings', model: string) => string,
  headerList: readonly string[],
  rewrite: (body: Record<string, unknown>, call: UpstreamCall<unknown>) => Record<string, unknown> = (b) => b,
): ProviderAdapter {
  const request = (
    endpoint: '/chat/completions' | '/embeddings',
    body: Record<string, unknown>,
    call: UpstreamCall<unknown>,
  ): UpstreamRequest => ({
    path: pathFor(endpoint, call.model),
    headers: [...headerList, 'x-request-id', call.requestId],
    body: JSON.stringify(rewrite(body, call)),
  });

  const raw = ({ statusCode, body }: WholeResponse): RawResponse => ({
    kind: 'raw',
    status: statusCode,
    contentType: 'application/json',
    body,
    usage: usageOfBody(body),
  });

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      const native = call.inboundFormat === 'openai';
      let body: Record<string, unknown> =
        call.body.model === call.model ? call.body : { ...call.body, model: call.model };
      if (!native) {
        body = toOpenAIWire(body, config.name);
        // Translating for another inbound format needs the usage chunk to report tokens at the end.
        if (call.stream) body = { ...body, stream_options: { include_usage: true } };
      }
      // The request is built (and may be refused) before the deadline's timers start.
      const payload = request('/chat/completions', body, call);
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
      if (!call.stream) {
        const answer = await http.fetchWhole(payload, call, deadline);
        call.onFirstToken();
        if (native) return raw(answer);
        return { kind: 'response', response: chatResponseFromOpenAI(answer.body, config.name) };
      }
      const response = await http.sendOk(payload, call, deadline);
      if (!native) {
        return openTranslatedStream(response, deadline, call, config.name, openAIStreamDecoder(config.name));
      }
      return openRawStream(response, deadline, call, config.name, new OpenAISseTap(config.name));
    },

    async embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      const body = call.body.model === call.model ? call.body : { ...call.body, model: call.model };
      const payload = request('/embeddings', body, call);
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, false);
      return raw(await http.fetchWhole(payload, call, deadline));
    },

    async close(): Promise<void> {
      await http.close();
    },
  };
}

/**
 * Reads `usage` off a JSON answer without parsing the whole body: OpenAI puts it after `choices`, so it is
 * found from the end. Inside JSON strings quotes are escaped, so an unescaped `"usage":{` is a real key.
 */
export function usageOfBody(body: Buffer): Usage | undefined {
  const at = body.lastIndexOf(usageMarker);
  if (at === -1) return undefined;
  const start = at + usageMarker.length - 1;
  let depth = 0;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return usageFromOpenAIText(body.toString('latin1', start, i + 1));
  }
  return undefined;
}
