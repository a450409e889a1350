// The simulator's gemini wire format: the Gemini API (`/v1beta/models/{m}:method`, key in x-goog-api-key or
// ?key=) and Vertex AI (`/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:method` with an OAuth
// Bearer token; express mode `/v1/publishers/google/models/{m}:method` with an API key). Written from
// Google's documented formats alone and proven by @google/genai (test/sdk-gemini-simulator.test.ts).
import { afterLatency, type SimulatorContext } from '../context.js';
import type { Exchange, VendorHeaders } from '../exchange.js';
import type { FormatRequest, FormatServer } from '../formats.js';
import { isObject, type JsonObject as Json } from '../request.js';
import { batchEmbedBody, countTokensBody, embedContentBody, predictBody } from './embed.js';
import {
  geminiFaults,
  invalidApiKey,
  invalidArgument,
  invalidJsonPayload,
  methodNotFound,
  missingApiKey,
  modelNotFound,
  notFound,
  unauthenticated,
  vertexFaults,
  type GoogleError,
} from './errors.js';
import { generateContentBody, streamGenerateContent } from './generate.js';
import { listModelsBody, modelBody } from './models.js';
import { planGenerate, type GeminiPlan } from './plan.js';

/** How a caller proves who it is: an API key (Gemini API, Vertex express mode) or an OAuth token. */
type Auth = 'api-key' | 'bearer';

interface ModelCall {
  vertex: boolean;
  auth: Auth;
  model: string;
  method: string;
}

const GEMINI_METHOD = /^\/(?:v1beta|v1alpha|v1)\/models\/([^/:]+):([A-Za-z]+)$/;
const VERTEX_METHOD =
  /^\/(?:v1|v1beta1)\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/:]+):([A-Za-z]+)$/;
const VERTEX_EXPRESS_METHOD = /^\/(?:v1|v1beta1)\/publishers\/google\/models\/([^/:]+):([A-Za-z]+)$/;
const MODELS = /^\/(v1beta|v1alpha|v1)\/models\/?$/;
const MODEL = /^\/(v1beta|v1alpha|v1)\/models\/([^/:]+)$/;
// Paths this format owns outright.
const OWNED = /^\/(?:v1beta|v1alpha|v1beta1)\/|^\/v1\/(?:projects|publishers)\//;
const OPENAI_MODELS = /^\/v1\/models(\/|$)/;

function modelCall(path: string): ModelCall | undefined {
  let match = GEMINI_METHOD.exec(path);
  if (match !== null)
    return { vertex: false, auth: 'api-key', model: match[1] as string, method: match[2] as string };
  match = VERTEX_METHOD.exec(path);
  if (match !== null)
    return { vertex: true, auth: 'bearer', model: match[1] as string, method: match[2] as string };
  match = VERTEX_EXPRESS_METHOD.exec(path);
  if (match !== null)
    return { vertex: true, auth: 'api-key', model: match[1] as string, method: match[2] as string };
  return undefined;
}

function header(ex: Exchange, name: string): string | undefined {
  const value = ex.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function checkAuth(ex: Exchange, request: FormatRequest, auth: Auth): GoogleError | undefined {
  const expected = request.apiKey;
  if (expected === undefined) return undefined;
  if (auth === 'bearer') {
    const authorization = header(ex, 'authorization');
    if (authorization === undefined || authorization === '') return unauthenticated('CREDENTIALS_MISSING');
    const token = authorization.replace(/^bearer\s+/i, '').trim();
    return token === expected ? undefined : unauthenticated('ACCESS_TOKEN_TYPE_UNSUPPORTED');
  }
  const key = header(ex, 'x-goog-api-key') ?? request.query.get('key') ?? undefined;
  if (key === undefined || key === '') return missingApiKey();
  return key === expected ? undefined : invalidApiKey();
}

/** Non-stream answers take latency + ttft + tokens / tokens-per-second before their headers. */
function generationDelay(ctx: SimulatorContext, plan: GeminiPlan): number {
  const { ttftMs, tokensPerSecond } = ctx.options;
  if (tokensPerSecond <= 0) return ttftMs;
  return ttftMs + (Math.ceil(plan.candidatesTokens / plan.candidates.length) * 1000) / tokensPerSecond;
}

function answer(
  ex: Exchange,
  ctx: SimulatorContext,
  call: ModelCall,
  body: Json,
  request: FormatRequest,
): void {
  const faults = call.vertex ? vertexFaults : geminiFaults;
  const later = (build: () => string): void =>
    afterLatency(ex, ctx, call.model, () => ex.sendJson(200, build()), faults);
  switch (call.method) {
    case 'generateContent': {
      const plan = planGenerate(body, call.model, call.vertex, ctx);
      afterLatency(
        ex,
        ctx,
        call.model,
        () => ex.after(generationDelay(ctx, plan), () => ex.sendJson(200, generateContentBody(plan))),
        faults,
      );
      return;
    }
    case 'streamGenerateContent': {
      const plan = planGenerate(body, call.model, call.vertex, ctx);
      const sse = request.query.get('alt') === 'sse';
      afterLatency(
        ex,
        ctx,
        call.model,
        () => streamGenerateContent(ex, plan, sse, ctx.options, ctx.faults),
        faults,
      );
      return;
    }
    case 'countTokens':
      ex.sendJson(200, countTokensBody(body, call.model, call.vertex));
      return;
    case 'embedContent':
      if (call.vertex) break;
      embedContentBody(body, call.model); // validates now, so a bad request is a 400, not a fault
      later(() => embedContentBody(body, call.model));
      return;
    case 'batchEmbedContents':
      if (call.vertex) break;
      batchEmbedBody(body, call.model);
      later(() => batchEmbedBody(body, call.model));
      return;
    case 'predict':
      if (!call.vertex) break;
      predictBody(body, call.model);
      later(() => predictBody(body, call.model));
      return;
  }
  throw methodNotFound();
}

function serveModelCall(ex: Exchange, request: FormatRequest, ctx: SimulatorContext, call: ModelCall): void {
  if (request.method !== 'POST') {
    request.record();
    ex.sendError(methodNotFound());
    return;
  }
  request.readBody((text) => {
    const authError = checkAuth(ex, request, call.auth);
    if (authError !== undefined) return ex.sendError(authError);
    let body: unknown;
    try {
      body = JSON.parse(text === '' ? '{}' : text);
    } catch {
      throw invalidJsonPayload();
    }
    if (!isObject(body)) throw invalidArgument('Invalid JSON payload received. Expected an object.');
    answer(ex, ctx, { ...call, model: decodeURIComponent(call.model) }, body, request);
  });
}

function serveGet(ex: Exchange, request: FormatRequest, respond: () => void): void {
  request.record();
  if (request.method !== 'GET') return ex.sendError(methodNotFound());
  const authError = checkAuth(ex, request, 'api-key');
  if (authError !== undefined) return ex.sendError(authError);
  respond();
}

/**
 * Google's front end names no request id; it reports its own time as `server-timing: gfet4t7; dur=<ms>`,
 * next to the vary and server headers of Google APIs.
 */
const geminiHeaders: VendorHeaders = (ex, headers) => {
  headers.push(
    'server-timing',
    `gfet4t7; dur=${ex.elapsedMs()}`,
    'vary',
    'Origin, X-Origin, Referer',
    'server',
    'scaffolding on HTTPServer2',
  );
};

export const geminiFormat: FormatServer = {
  format: 'gemini',
  vendorHeaders: geminiHeaders,
  serve(ex, request, ctx) {
    const path = request.path;
    const call = modelCall(path);
    if (call !== undefined) {
      serveModelCall(ex, request, ctx, call);
      return true;
    }
    // GET /v1/models is also OpenAI's (`--format all`): Google clients never send an Authorization header
    // there, OpenAI clients always do.
    const openAIList = OPENAI_MODELS.test(path) && ex.req.headers.authorization !== undefined;
    if (openAIList || !(OWNED.test(path) || OPENAI_MODELS.test(path))) return false;
    if (MODELS.test(path)) {
      serveGet(ex, request, () => ex.sendJson(200, listModelsBody()));
      return true;
    }
    const model = MODEL.exec(path);
    if (model !== null) {
      const [, version, id] = model as unknown as [string, string, string];
      serveGet(ex, request, () => {
        const found = modelBody(decodeURIComponent(id));
        if (found === undefined) ex.sendError(modelNotFound(id, version, 'GET'));
        else ex.sendJson(200, found);
      });
      return true;
    }
    request.record();
    ex.sendError(notFound(`The requested URL ${path} was not found on this server.`));
    return true;
  },
};
