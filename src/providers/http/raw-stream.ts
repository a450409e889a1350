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
import { pumpBody, streamFailure } from './body-pump.js';
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
  const fail = (error: unknown): GatewayError => streamFailure(error, deadline, providerName);

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
    const write = (chunk: Buffer): boolean => sink.write(chunk);
    return pumpBody(body, deadline, providerName, {
      start: () => {
        // A body that broke between the first read and now ends with its error, before anything is written.
        if (body.errored !== null) throw fail(body.errored);
        return write(first as Buffer);
      },
      data: (chunk) => {
        see(chunk);
        return write(chunk);
      },
      // The client already has an upstream's own error event: end without another one (failure() tells).
      end: () =>
        tap.failure?.() !== undefined || tap.done
          ? undefined
          : new GatewayError(
              'upstream_stream_interrupted',
              `provider ${providerName} ended the stream early`,
            ),
      onDrain: (resume) => sink.onDrain(resume),
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
