// The simulator's Bedrock Runtime format: POST /model/{modelId}/converse and /converse-stream (Converse), and
// /model/{modelId}/invoke for Amazon Titan Text Embeddings. Auth as Bedrock checks it (auth.ts), errors as
// Bedrock sends them (errors.ts), x-amzn-requestid on every answer. The AWS SDK's own client is the proof
// of fidelity (test/sdk-bedrock-simulator.test.ts).
import { randomUUID } from 'node:crypto';
import { afterLatency } from '../context.js';
import type { SimulatorContext } from '../context.js';
import { embeddingVector, estimateTokens } from '../engine.js';
import type { Exchange, VendorHeaders } from '../exchange.js';
import type { FormatRequest, FormatServer } from '../formats.js';
import { paceStream } from '../pacer.js';
import { checkBedrockAuth } from './auth.js';
import { planConverse, type ConversePlan } from './converse-plan.js';
import { ConverseFrames, converseBody } from './converse-response.js';
import { BedrockError, bedrockFaults, constraint, sendBedrockError, validation } from './errors.js';

const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/;
const TITAN_DIMENSIONS = new Set([256, 512, 1024]);

/** Non-stream answers take latency + ttft + output tokens at tokens-per-second before their headers. */
function generationDelay(ctx: SimulatorContext, plan: ConversePlan): number {
  const { ttftMs, tokensPerSecond } = ctx.options;
  return tokensPerSecond > 0 ? ttftMs + (plan.outputTokens * 1000) / tokensPerSecond : ttftMs;
}

function converse(
  ex: Exchange,
  body: unknown,
  modelId: string,
  stream: boolean,
  ctx: SimulatorContext,
): void {
  const startedAt = performance.now();
  const latency = (): number => Math.round(performance.now() - startedAt);
  const plan = planConverse(body, modelId, ctx);
  afterLatency(
    ex,
    ctx,
    modelId,
    () => {
      if (stream) {
        const headers = ['content-type', 'application/vnd.amazon.eventstream'];
        paceStream(ex, new ConverseFrames(plan, latency), headers, ctx.options, ctx.faults, true);
        return;
      }
      ex.after(generationDelay(ctx, plan), () => ex.sendJson(200, converseBody(plan, latency())));
    },
    bedrockFaults,
  );
}

/** Titan Text Embeddings v1/v2 (InvokeModel): one text in, one vector out. */
function titanEmbedding(ex: Exchange, body: unknown, modelId: string, ctx: SimulatorContext): void {
  if (!/amazon\.titan-embed-text-v\d/.test(modelId)) {
    throw validation('The provided model identifier is invalid.');
  }
  const input = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const text = input['inputText'];
  if (typeof text !== 'string' || text === '') {
    throw validation(
      'Malformed input request: #: required key [inputText] not found, please reformat your input and try again.',
    );
  }
  const v1 = modelId.includes('titan-embed-text-v1');
  const dimensions = input['dimensions'] ?? (v1 ? 1536 : 1024);
  if (!v1 && !TITAN_DIMENSIONS.has(dimensions as number)) {
    throw validation(
      `Malformed input request: #/dimensions: ${String(dimensions)} is not a valid enum value, please reformat your input and try again.`,
    );
  }
  const vector = Array.from(embeddingVector(text, dimensions as number));
  const answer = JSON.stringify({ embedding: vector, inputTextTokenCount: estimateTokens(text) });
  afterLatency(ex, ctx, modelId, () => ex.sendJson(200, answer), bedrockFaults);
}

/** Every Bedrock answer, errors included, carries its request id (a UUID; the AWS SDK's $metadata.requestId). */
const bedrockHeaders: VendorHeaders = (_ex, headers) => {
  headers.push('x-amzn-requestid', randomUUID());
};

export const bedrockFormat: FormatServer = {
  format: 'bedrock',
  vendorHeaders: bedrockHeaders,
  serve(ex: Exchange, request: FormatRequest, ctx: SimulatorContext): boolean {
    if (!request.path.startsWith('/model/')) return false;
    const route = ROUTE.exec(request.path);
    if (route === null || request.method !== 'POST') {
      request.record();
      sendBedrockError(ex, new BedrockError(404, 'UnknownOperationException', 'Unknown operation'));
      return true;
    }
    const operation = route[2] as string;
    request.readBody((text) => {
      try {
        const modelId = decodeURIComponent(route[1] as string);
        checkBedrockAuth(
          {
            method: request.method,
            rawPath: request.path,
            query: request.query,
            headers: ex.req.headers,
            body: Buffer.from(text, 'utf8'),
          },
          request.apiKey,
        );
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new BedrockError(400, 'SerializationException', 'Unable to parse the request body as JSON.');
        }
        if (modelId === '')
          throw constraint('', 'modelId', 'Member must have length greater than or equal to 1');
        if (operation === 'invoke') titanEmbedding(ex, body, modelId, ctx);
        else converse(ex, body, modelId, operation === 'converse-stream', ctx);
      } catch (error) {
        if (error instanceof BedrockError) sendBedrockError(ex, error);
        else if (error instanceof URIError)
          sendBedrockError(ex, validation('The model identifier is not valid.'));
        else ex.fail(error);
      }
    });
    return true;
  },
};
