/**
 * Writes the upstream outcome to the client in the route's format. Streams are written chunk by chunk as
 * they arrive, honouring backpressure; a failure after the first byte ends the stream with the format's
 * error frame (the status line is already sent), documented in docs/architecture.md.
 */
import type { ServerResponse } from 'node:http';
import type { ChatStreamWriter } from '../formats/chat-format.js';
import type { ByteSink, PartSink, PartStream } from '../providers/provider.js';
import { specOf } from '../errors/error-table.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { embeddingsBody } from '../formats/openai-embeddings/write-response.js';
import { errorFrame as openAIErrorFrame } from '../formats/openai-chat/write-stream.js';
import type { RequestContext, Stage } from './context.js';
import { toGatewayError } from './handle-errors.js';
import { gatewayHeaders } from './response-headers.js';

const sseHeaders = { 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
const sseType = 'text/event-stream; charset=utf-8';

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

function byteSinkOf(res: ServerResponse): ByteSink {
  return { write: (chunk) => res.write(chunk), onDrain: (resume) => onDrainOrClose(res, resume) };
}

/** Parts → the format's frames → the client; usage parts are recorded on the way for accounting. */
async function pipeParts(ctx: RequestContext, outcome: PartStream, writer: ChatStreamWriter): Promise<void> {
  const res = ctx.res;
  const sink: PartSink = {
    write(parts) {
      for (const part of parts) if (part.type === 'usage') ctx.usage = part.usage;
      if (res.destroyed) return true;
      const text = writer.write(parts);
      return text === '' ? true : res.write(text);
    },
    onDrain: (resume) => onDrainOrClose(res, resume),
  };
  await outcome.pipeTo(sink);
  if (!res.destroyed) res.write(writer.end());
}

async function streamTo(
  ctx: RequestContext,
  contentType: string,
  pipe: () => Promise<void>,
  errorFrame: (error: GatewayError) => string,
): Promise<void> {
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
  const format = ctx.format;
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
          ? (format as NonNullable<typeof format>).responseBody(outcome.response)
          : embeddingsBody(outcome.response),
      );
      break;
    case 'raw-stream':
      await streamTo(
        ctx,
        outcome.contentType,
        () => outcome.pipeTo(byteSinkOf(res)),
        format?.streamErrorFrame ?? openAIErrorFrame,
      );
      ctx.usage = outcome.usage();
      if (ctx.error === undefined) {
        const failure = outcome.failure?.();
        if (failure !== undefined) ctx.error = failure;
      }
      break;
    case 'stream': {
      const writer = (format as NonNullable<typeof format>).streamWriter(
        ctx.chat as NonNullable<typeof ctx.chat>,
      );
      await streamTo(
        ctx,
        sseType,
        () => pipeParts(ctx, outcome, writer),
        (error) => writer.error(error),
      );
      break;
    }
  }
  return next();
};
