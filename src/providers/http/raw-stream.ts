/**
 * An upstream stream already in the client's wire format, passed through as the upstream's bytes (no
 * re-framing, no parsing beyond what the format's tap reads): OpenAI streams to OpenAI clients, Anthropic
 * streams to Anthropic clients. Event-driven rather than an async iterator: with thousands of concurrent
 * streams, the promise and generator frames per chunk would be most of the gateway's memory.
 */
import type { Dispatcher } from 'undici';
import type { Usage } from '../../canonical/usage.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { ByteSink, RawStream, UpstreamCall } from '../provider.js';
import type { AttemptDeadline } from './attempt-deadline.js';
import { transportError } from './transport-errors.js';

/** Watches a format's bytes as they pass (see providers/openai/sse-tap.ts, providers/anthropic/sse-tap.ts). */
export interface ByteTap {
  /** Returns true for the chunk that carried the first token. */
  observe(chunk: Buffer): boolean;
  /** True once the stream's closing event passed: a stream that ends without it was cut. */
  readonly done: boolean;
  /** What the stream reported as usage, read after it ends. */
  readonly usage: Usage | undefined;
  /** An error the upstream reported inside the stream, once seen. */
  failure?(): GatewayError | undefined;
}

/**
 * Waits for the first body chunk before resolving, so an upstream that fails before sending anything (or
 * whose first event is an error, say Anthropic's overloaded_error) is still an error the pipeline can map
 * or fail over rather than a broken stream.
 */
export async function openRawStream(
  response: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  call: UpstreamCall<unknown>,
  providerName: string,
  tap: ByteTap,
): Promise<RawStream> {
  const body = response.body;
  const see = (chunk: Buffer): void => {
    deadline.chunk();
    if (tap.observe(chunk)) {
      deadline.firstToken();
      call.onFirstToken();
    }
  };
  const fail = (error: unknown): GatewayError => {
    const mapped = transportError(error, deadline.reason, providerName);
    if (mapped.kind !== 'upstream_unreachable') return mapped;
    return new GatewayError('upstream_stream_interrupted', `provider ${providerName} cut the stream`, {
      cause: error,
    });
  };

  const first = await new Promise<Buffer | null>((resolve, reject) => {
    const cleanup = (): void => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onReadable = (): void => {
      const chunk = body.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
  }).catch((error: unknown) => {
    deadline.release();
    throw transportError(error, deadline.reason, providerName);
  });
  if (first === null) {
    deadline.release();
    throw new GatewayError('upstream_error', `provider ${providerName} closed the stream without data`);
  }
  see(first);
  const early = tap.failure?.();
  if (early !== undefined) {
    deadline.release();
    if (!body.destroyed) body.destroy();
    throw early;
  }

  function pipeTo(sink: ByteSink): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const resume = (): void => {
        body.resume();
      };
      let settled = false;
      const finish = (error?: GatewayError): void => {
        if (settled) return;
        settled = true;
        body.off('data', onData);
        body.off('end', onEnd);
        body.off('error', onError);
        body.off('close', onClose);
        deadline.release();
        if (error === undefined) return resolve();
        // Leaving early must end the upstream request, not drain it.
        if (!body.destroyed) body.destroy();
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        see(chunk);
        if (!sink.write(chunk)) {
          body.pause();
          sink.onDrain(resume);
        }
      };
      const onEnd = (): void => {
        // The client already has the upstream's error event: end without another one (failure() tells).
        if (tap.failure?.() !== undefined) return finish();
        finish(
          tap.done
            ? undefined
            : new GatewayError(
                'upstream_stream_interrupted',
                `provider ${providerName} ended the stream early`,
              ),
        );
      };
      const onError = (error: Error): void => finish(fail(error));
      // A body destroyed without an error event (the socket went away between two reads) ends here.
      const onClose = (): void => finish(fail(body.errored ?? new Error('upstream body closed')));
      if (body.errored !== null) return finish(fail(body.errored));
      if (!sink.write(first as Buffer)) {
        body.pause();
        sink.onDrain(resume);
      }
      // The whole stream may have come with the first read, and 'end' gone out before we listened.
      if (body.readableEnded) return onEnd();
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', onError);
      body.once('close', onClose);
    });
  }

  return {
    kind: 'raw-stream',
    contentType: 'text/event-stream; charset=utf-8',
    pipeTo,
    usage: () => tap.usage,
    failure: () => tap.failure?.(),
  };
}
