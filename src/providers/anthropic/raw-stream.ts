/**
 * An Anthropic stream passed to an Anthropic client as the upstream's bytes (no re-framing), watched by
 * AnthropicSseTap for the first token, usage, a cut (no message_stop) and an in-stream error.
 */
import type { Dispatcher } from 'undici';
import { GatewayError } from '../../errors/gateway-error.js';
import type { AttemptDeadline } from '../http/attempt-deadline.js';
import { transportError } from '../http/transport-errors.js';
import type { ByteSink, RawStream, UpstreamCall } from '../provider.js';
import { streamErrorOf } from './errors.js';
import { AnthropicSseTap } from './sse-tap.js';

/**
 * Waits for the first body chunk before resolving, so an upstream that fails before sending anything (or
 * whose first event is an error, say overloaded_error) is still an error the pipeline can map or fail over.
 */
export async function openRawStream(
  response: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  call: UpstreamCall<unknown>,
  providerName: string,
): Promise<RawStream> {
  const body = response.body;
  const tap = new AnthropicSseTap();
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
  if (tap.error !== undefined) {
    deadline.release();
    if (!body.destroyed) body.destroy();
    throw streamErrorOf(tap.error, providerName);
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
        // The client already has the upstream's error event; the rejection records the failure.
        if (tap.error !== undefined) return finish(streamErrorOf(tap.error, providerName));
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
  };
}
