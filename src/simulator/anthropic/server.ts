// The simulator's anthropic wire format: POST /v1/messages (stream and non-stream), POST
// /v1/messages/count_tokens and GET /v1/models[/{id}], with Anthropic's auth (x-api-key), its required
// anthropic-version header, its error envelope and its fault statuses (429 rate_limit_error, 500
// api_error, 529 overloaded_error). Written from Anthropic's documentation alone, never from the adapter.
import { afterLatency } from '../context.js';
import type { SimulatorContext } from '../context.js';
import type { Exchange } from '../exchange.js';
import type { FormatRequest, FormatServer } from '../formats.js';
import {
  AnthropicError,
  anthropicFaults,
  anthropicHeaders,
  invalidRequest,
  notFound,
  sendAnthropicError,
  sendAnthropicJson,
} from './errors.js';
import { messageBody } from './message.js';
import { anthropicModels, modelInfo, modelList } from './models.js';
import { countTokens, planMessage, type MessagePlan } from './plan.js';
import { streamMessage } from './stream.js';

function header(ex: Exchange, name: string): string | undefined {
  const value = ex.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Anthropic's checks before the body matters: the key, then the API version. */
function checkHeaders(ex: Exchange, request: FormatRequest): AnthropicError | undefined {
  if (request.apiKey !== undefined) {
    // SDKs since API version 2026-10-21 send the key as a Bearer token; x-api-key wins when both come.
    const bearer = header(ex, 'authorization');
    const key = header(ex, 'x-api-key') ?? bearer?.replace(/^bearer\s+/i, '');
    if (key === undefined || key === '')
      return new AnthropicError(401, 'authentication_error', 'x-api-key header is required');
    if (key !== request.apiKey) return new AnthropicError(401, 'authentication_error', 'invalid x-api-key');
  }
  if (header(ex, 'anthropic-version') === undefined)
    return invalidRequest('anthropic-version: header is required');
  return undefined;
}

/** Runs `handle` on the parsed body of a POST, answering every rejection in Anthropic's envelope. */
function post(ex: Exchange, request: FormatRequest, handle: (body: unknown, version: string) => void): void {
  if (request.method !== 'POST') {
    request.record();
    sendAnthropicError(ex, new AnthropicError(405, 'invalid_request_error', `Method Not Allowed`), [
      'allow',
      'POST',
    ]);
    return;
  }
  request.readBody((text) => {
    try {
      const rejected = checkHeaders(ex, request);
      if (rejected !== undefined) return sendAnthropicError(ex, rejected);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw invalidRequest(
          'There was an issue with the formatting of your request: the body is not valid JSON',
        );
      }
      handle(body, header(ex, 'anthropic-version') as string);
    } catch (error) {
      if (error instanceof AnthropicError) sendAnthropicError(ex, error);
      else ex.fail(error);
    }
  });
}

function get(ex: Exchange, request: FormatRequest, respond: () => void): void {
  request.record();
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendAnthropicError(ex, new AnthropicError(405, 'invalid_request_error', 'Method Not Allowed'), [
      'allow',
      'GET',
    ]);
    return;
  }
  const rejected = checkHeaders(ex, request);
  if (rejected !== undefined) sendAnthropicError(ex, rejected);
  else respond();
}

/** Non-stream answers take latency + ttft + tokens / tokens-per-second before their headers. */
function generationDelay(ctx: SimulatorContext, plan: MessagePlan): number {
  const { ttftMs, tokensPerSecond } = ctx.options;
  return tokensPerSecond > 0 ? ttftMs + (plan.usage.outputTokens * 1000) / tokensPerSecond : ttftMs;
}

function handleMessages(ex: Exchange, body: unknown, version: string, ctx: SimulatorContext): void {
  const plan = planMessage(body, version, ctx);
  afterLatency(
    ex,
    ctx,
    plan.model,
    () => {
      if (plan.stream) return streamMessage(ex, plan, ctx.options, ctx.faults);
      ex.after(generationDelay(ctx, plan), () => sendAnthropicJson(ex, 200, messageBody(plan)));
    },
    anthropicFaults,
  );
}

export const anthropicFormat: FormatServer = {
  format: 'anthropic',
  vendorHeaders: anthropicHeaders,
  serve(ex, request, ctx) {
    const path = request.path;
    if (path === '/v1/messages') {
      post(ex, request, (body, version) => handleMessages(ex, body, version, ctx));
      return true;
    }
    if (path === '/v1/messages/count_tokens') {
      post(ex, request, (body, version) =>
        sendAnthropicJson(ex, 200, JSON.stringify({ input_tokens: countTokens(body, version) })),
      );
      return true;
    }
    // With --format all, /v1/models is OpenAI's unless the caller speaks Anthropic's API.
    const only = ctx.options.format === 'anthropic';
    const anthropicCaller = only || ex.req.headers['anthropic-version'] !== undefined;
    const models = anthropicModels(ctx.options.models);
    if (path === '/v1/models' && anthropicCaller) {
      get(ex, request, () => sendAnthropicJson(ex, 200, modelList(models)));
      return true;
    }
    if (path.startsWith('/v1/models/') && anthropicCaller) {
      get(ex, request, () => {
        let id: string;
        try {
          id = decodeURIComponent(path.slice('/v1/models/'.length));
        } catch {
          return sendAnthropicError(ex, notFound());
        }
        const found = modelInfo(models, id);
        if (found === undefined) sendAnthropicError(ex, notFound(`model: ${id}`));
        else sendAnthropicJson(ex, 200, found);
      });
      return true;
    }
    if (!only) return false;
    request.record();
    if (path === '/healthz') sendAnthropicJson(ex, 200, '{"status":"ok"}');
    else sendAnthropicError(ex, notFound());
    return true;
  },
};
