// The simulator's Cohere v2 format: POST /v2/chat (JSON or SSE with `stream: true`) and POST /v2/embed, Bearer
// auth, Cohere's error bodies and wording, and the injected faults as Cohere answers them.
import { randomUUID } from 'node:crypto';
import { afterLatency, type FaultAnswers, type SimulatorContext } from '../context.js';
import type { Exchange, VendorHeaders } from '../exchange.js';
import type { FormatRequest, FormatServer } from '../formats.js';
import { streamCohereChat, cohereChatBody } from './chat.js';
import { planCohereChat } from './chat-plan.js';
import { planCohereEmbed } from './embed.js';
import { CohereApiError, sendCohereError } from './errors.js';

export const cohereFaults: FaultAnswers = {
  serverError(ex) {
    sendCohereError(ex, 500, 'internal server error, this has been reported to our developers');
  },
  rateLimited(ex, _model, retryAfterSeconds) {
    sendCohereError(
      ex,
      429,
      'You are past the rate limit of 1000 API calls / minute for this key. Please retry after a short wait.',
      ['retry-after', String(retryAfterSeconds)],
    );
  },
  overloaded(ex, retryAfterSeconds) {
    sendCohereError(ex, 503, 'service unavailable: the model is overloaded, please try again later', [
      'retry-after',
      String(retryAfterSeconds),
    ]);
  },
};

/** Cohere answers a missing key and a wrong one apart, both 401. */
function authError(ex: Exchange, apiKey: string | undefined): string | undefined {
  if (apiKey === undefined) return undefined;
  const header = ex.req.headers.authorization;
  if (header === undefined || header === '') return 'no api key supplied';
  const token = header.replace(/^bearer\s+/i, '').trim();
  return token === apiKey ? undefined : 'invalid api token';
}

type Handler = (ex: Exchange, body: unknown, ctx: SimulatorContext) => void;

function chat(ex: Exchange, body: unknown, ctx: SimulatorContext): void {
  const plan = planCohereChat(body, ctx);
  afterLatency(
    ex,
    ctx,
    plan.model,
    () => {
      if (plan.stream) return streamCohereChat(ex, plan, ctx.options, ctx.faults);
      const { ttftMs, tokensPerSecond } = ctx.options;
      const delay = tokensPerSecond > 0 ? ttftMs + (plan.outputTokens * 1000) / tokensPerSecond : ttftMs;
      ex.after(delay, () => ex.sendJson(200, cohereChatBody(plan)));
    },
    cohereFaults,
  );
}

function embed(ex: Exchange, body: unknown, ctx: SimulatorContext): void {
  const plan = planCohereEmbed(body);
  afterLatency(ex, ctx, plan.model, () => ex.sendJson(200, plan.body()), cohereFaults);
}

const routes: Record<string, Handler> = { '/v2/chat': chat, '/v2/embed': embed };

/** Cohere traces each request as `x-debug-trace-id` (32 hex digits) and reports its upstream time. */
const cohereHeaders: VendorHeaders = (ex, headers) => {
  headers.push(
    'x-debug-trace-id',
    randomUUID().replaceAll('-', ''),
    'x-envoy-upstream-service-time',
    String(ex.elapsedMs()),
  );
};

export const cohereFormat: FormatServer = {
  format: 'cohere',
  vendorHeaders: cohereHeaders,
  serve(ex: Exchange, request: FormatRequest, ctx: SimulatorContext): boolean {
    if (!request.path.startsWith('/v2/')) return false;
    const handler = routes[request.path];
    if (handler === undefined) {
      request.record();
      sendCohereError(ex, 404, `path ${request.path} not found`);
      return true;
    }
    if (request.method !== 'POST') {
      request.record();
      sendCohereError(ex, 405, `method ${request.method} not allowed`, ['allow', 'POST']);
      return true;
    }
    request.readBody((text) => {
      const denied = authError(ex, request.apiKey);
      if (denied !== undefined) return sendCohereError(ex, 401, denied);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return sendCohereError(ex, 400, 'invalid request: could not parse the request body as JSON');
      }
      try {
        handler(ex, body, ctx);
      } catch (error) {
        if (!(error instanceof CohereApiError)) throw error;
        sendCohereError(ex, error.status, error.message);
      }
    });
    return true;
  },
};
