/**
 * Writes the upstream outcome to the client in the route's format. Streams are written chunk by chunk as
 * they arrive, honouring backpressure; a failure after the first byte ends the stream with an error frame
 * (the status line is already sent), documented in docs/architecture.md.
 */
import type { ServerResponse } from 'node:http';
import type { StreamPart } from '../canonical/chat.js';
import type { ByteSink } from '../providers/provider.js';
import { specOf } from '../errors/error-table.js';
import { chatCompletionBody } from '../formats/openai-chat/write-response.js';
import { doneFrame, errorFrame, OpenAIChunkWriter } from '../formats/openai-chat/write-stream.js';
import { embeddingsBody } from '../formats/openai-embeddings/write-response.js';
import type { RequestContext, Stage } from './context.js';
import { toGatewayError } from './handle-errors.js';
import { gatewayHeaders } from './response-headers.js';

const sseHeaders = { 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

/**
 * Calls `resume` once the client can take more: on 'drain', or on 'close' (a client that leaves while
 * congested must not leave the source paused forever; resuming lets the source see the abort).
 */
function onDrainOrClose(res: ServerResponse, resume: () => void): void {
  const done = (): void => {
    res.off('drain', done);
    res.off('close', done);
    resume();
  };
  res.on('drain', done);
  res.on('close', done);
}

async function write(res: ServerResponse, chunk: Buffer | string): Promise<void> {
  if (!res.write(chunk)) await new Promise<void>((resolve) => onDrainOrClose(res, resolve));
}

function sinkOf(res: ServerResponse): ByteSink {
  return { write: (chunk) => res.write(chunk), onDrain: (resume) => onDrainOrClose(res, resume) };
}

async function pipeParts(
  ctx: RequestContext,
  parts: AsyncIterable<StreamPart>,
  includeUsage: boolean,
): Promise<void> {
  const res = ctx.res;
  const writer = new OpenAIChunkWriter(includeUsage);
  for await (const part of parts) {
    if (res.destroyed) return;
    if (part.type === 'usage') ctx.usage = part.usage;
    const frame = writer.frame(part);
    if (frame !== '') await write(res, frame);
  }
  await write(res, doneFrame);
}

async function streamTo(ctx: RequestContext, contentType: string, pipe: () => Promise<void>): Promise<void> {
  const res = ctx.res;
  ctx.status = 200;
  res.writeHead(200, { ...gatewayHeaders(ctx, contentType), ...sseHeaders });
  try {
    await pipe();
  } catch (thrown) {
    const error = toGatewayError(thrown);
    ctx.error = error;
    if (error.kind === 'client_closed' || res.destroyed) {
      ctx.status = specOf('client_closed').status;
      return;
    }
    res.write(errorFrame(error));
  }
  if (ctx.clientGone.aborted) ctx.status = specOf('client_closed').status;
  res.end();
}

export const respond: Stage = async (ctx, next) => {
  const outcome = ctx.outcome;
  const res = ctx.res;
  if (outcome === undefined) throw new Error('respond needs an outcome (call-upstream stage missing)');
  switch (outcome.kind) {
    case 'raw':
      ctx.status = outcome.status;
      ctx.usage = outcome.usage;
      res.writeHead(outcome.status, gatewayHeaders(ctx, outcome.contentType));
      res.end(outcome.body);
      break;
    case 'response':
      ctx.status = 200;
      ctx.usage = outcome.response.usage;
      res.writeHead(200, gatewayHeaders(ctx, 'application/json'));
      res.end(
        'choices' in outcome.response
          ? chatCompletionBody(outcome.response)
          : embeddingsBody(outcome.response),
      );
      break;
    case 'raw-stream':
      await streamTo(ctx, outcome.contentType, () => outcome.pipeTo(sinkOf(res)));
      ctx.usage = outcome.usage();
      break;
    case 'stream':
      await streamTo(ctx, 'text/event-stream; charset=utf-8', () =>
        pipeParts(ctx, outcome.parts, ctx.chat?.includeUsage === true),
      );
      break;
  }
  return next();
};
