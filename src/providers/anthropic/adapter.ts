/**
 * `anthropic` provider: the Anthropic Messages API (POST /v1/messages, https://docs.claude.com/en/api/messages).
 *
 * An Anthropic client's request goes out as the client wrote it (only `model` replaced), and the answer comes
 * back as Anthropic's bytes, so nothing the canonical shape cannot express (cache_control, citations, server
 * tools, betas in the body) is lost. Any other client's request is translated (request.ts) and the answer
 * translated back (response.ts, stream.ts).
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import { unsupported } from '../../canonical/chat-request.js';
import type { ProviderConfig } from '../../config/schema.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { openTranslatedStream } from '../http/translated-stream.js';
import { UpstreamHttp, type UpstreamRequest } from '../http/upstream-http.js';
import type { ChatOutcome, EmbeddingsOutcome, ProviderAdapter, UpstreamCall } from '../provider.js';
import { readAnthropicError } from './errors.js';
import { openRawStream } from './raw-stream.js';
import { toAnthropicRequest } from './request.js';
import { chatResponseFromAnthropic } from './response.js';
import { usageOfAnthropicBody } from './sse-tap.js';
import { anthropicStreamDecoder } from './stream.js';

const defaultBaseUrl = 'https://api.anthropic.com';
/**
 * 2023-06-01 serves every feature translated here (tools, thinking, structured outputs) and still takes
 * temperature / top_p / top_k, which 2026-10-21 removed; set `api_version` to opt into the newer one.
 */
const defaultApiVersion = '2023-06-01';

/** The base URL may be given as the origin or with /v1, as SDKs and other gateways spell it. */
function baseUrlOf(config: ProviderConfig): string {
  return (config.base_url ?? defaultBaseUrl).replace(/\/+$/, '').replace(/\/v1$/, '');
}

export function createAnthropicAdapter(config: ProviderConfig): ProviderAdapter {
  const http = new UpstreamHttp(config, baseUrlOf(config), readAnthropicError);
  const apiVersion = config.api_version ?? defaultApiVersion;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': apiVersion,
    ...config.headers,
  };
  if (config.api_key !== undefined && config.api_key !== '') headers['x-api-key'] = config.api_key;
  const headerList = Object.entries(headers).flat();
  const messages = (body: Record<string, unknown>): UpstreamRequest => ({
    path: '/v1/messages',
    headers: headerList,
    body: JSON.stringify(body),
  });

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      const native = call.inboundFormat === 'anthropic';
      // Translate before the deadline starts: a refused feature must not leave timers behind.
      const translated = native
        ? undefined
        : toAnthropicRequest(call.body, call.model, config.name, apiVersion);
      let body: Record<string, unknown>;
      if (translated === undefined) {
        body =
          call.inboundBody['model'] === call.model
            ? call.inboundBody
            : { ...call.inboundBody, model: call.model };
      } else {
        body = translated.body;
        if (call.stream) body['stream'] = true;
        else delete body['stream'];
      }
      const request = messages(body);
      // Betas the client opted into (Claude Code sends several) only mean something to Anthropic itself.
      const beta = native ? call.inboundHeaders['anthropic-beta'] : undefined;
      if (typeof beta === 'string' && beta !== '') request.headers = [...headerList, 'anthropic-beta', beta];
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
      if (!call.stream) {
        const answer = await http.fetchWhole(request, call, deadline);
        call.onFirstToken();
        if (translated === undefined) {
          return {
            kind: 'raw',
            status: answer.statusCode,
            contentType: 'application/json',
            body: answer.body,
            usage: usageOfAnthropicBody(answer.body),
          };
        }
        return {
          kind: 'response',
          response: chatResponseFromAnthropic(answer.body, config.name, { jsonTool: translated.jsonTool }),
        };
      }
      const response = await http.sendOk(request, call, deadline);
      if (translated === undefined) return openRawStream(response, deadline, call, config.name);
      const decoder = anthropicStreamDecoder(config.name, { jsonTool: translated.jsonTool });
      return openTranslatedStream(response, deadline, call, config.name, decoder);
    },

    embeddings(): Promise<EmbeddingsOutcome> {
      // Anthropic has no embeddings endpoint (it points to Voyage AI); refuse instead of guessing one.
      return Promise.reject(unsupported('embeddings', config.name));
    },

    async close(): Promise<void> {
      await http.close();
    },
  };
}
