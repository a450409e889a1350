/**
 * A provider stream in a foreign wire format (Anthropic or Gemini SSE, Bedrock's binary event stream, ...)
 * turned into canonical parts as the bytes arrive: each network read becomes the parts it completes, handed
 * to the sink in one call, with the sink's backpressure pausing the upstream body. Nothing is buffered beyond
 * the decoder's incomplete last event.
 */
import type { Dispatcher } from 'undici';
import type { StreamPart } from '../../canonical/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { PartSink, PartStream, UpstreamCall } from '../provider.js';
import type { AttemptDeadline } from './attempt-deadline.js';
import { pumpBody, streamFailure } from './body-pump.js';

/** Incremental decoder of one provider's stream format. Both methods throw a GatewayError on an error event. */
export interface StreamDecoder {
  /** The parts one body chunk completes (often none, or several). */
  push(chunk: Buffer): StreamPart[];
  /** The body ended: the closing parts, or a throw when the stream ended before its final event. */
  end(): StreamPart[];
}

function carriesToken(parts: readonly StreamPart[]): boolean {
  for (const part of parts) {
    if (part.type !== 'start' && part.type !== 'usage') return true;
  }
  return false;
}

/**
 * Reads until the first parts arrive, then returns the stream. Resolving only then means an upstream that
 * fails before sending anything (an error status comes earlier; an in-stream error event, a cut) is still
 * an error the pipeline can map or fail over, not a broken stream.
 */
export async function openTranslatedStream(
  response: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  call: UpstreamCall<unknown>,
  providerName: string,
  decoder: StreamDecoder,
): Promise<PartStream> {
  const body = response.body;
  let sawToken = false;
  const decode = (chunk: Buffer | null): StreamPart[] => {
    if (chunk !== null) deadline.chunk();
    const parts = chunk === null ? decoder.end() : decoder.push(chunk);
    if (!sawToken && carriesToken(parts)) {
      sawToken = true;
      deadline.firstToken();
      call.onFirstToken();
    }
    return parts;
  };
  const fail = (error: unknown): GatewayError => streamFailure(error, deadline, providerName);

  // The first parts, read with 'readable' so nothing flows before the pipeline decides to write.
  let ended = false;
  const first = await new Promise<StreamPart[]>((resolve, reject) => {
    const cleanup = (): void => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const settle = (run: () => StreamPart[] | undefined): void => {
      try {
        const parts = run();
        if (parts === undefined) return;
        cleanup();
        resolve(parts);
      } catch (error) {
        cleanup();
        reject(error);
      }
    };
    const onReadable = (): void =>
      settle(() => {
        let chunk: Buffer | null;
        while ((chunk = body.read() as Buffer | null) !== null) {
          const parts = decode(chunk);
          if (parts.length > 0) return parts;
        }
        return undefined;
      });
    const onEnd = (): void =>
      settle(() => {
        ended = true;
        return decode(null);
      });
    const onError = (error: Error): void => {
      cleanup();
      reject(fail(error));
    };
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
  }).catch((error: unknown) => {
    deadline.release();
    if (!body.destroyed) body.destroy();
    throw error;
  });
  if (first.length === 0) {
    deadline.release();
    throw new GatewayError('upstream_error', `provider ${providerName} closed the stream without data`);
  }

  function pipeTo(sink: PartSink): Promise<void> {
    const deliver = (parts: StreamPart[]): boolean => parts.length === 0 || sink.write(parts);
    return pumpBody(
      body,
      deadline,
      providerName,
      {
        start: () => deliver(first),
        data: (chunk) => deliver(decode(chunk)),
        end: () => {
          deliver(decode(null));
          return undefined;
        },
        onDrain: (resume) => sink.onDrain(resume),
      },
      ended,
    );
  }

  return { kind: 'stream', pipeTo };
}

/** An in-process source of parts (the simulator provider) as a PartStream, one part per write. */
export function partStreamOf(parts: AsyncIterable<StreamPart>): PartStream {
  return {
    kind: 'stream',
    async pipeTo(sink: PartSink): Promise<void> {
      for await (const part of parts) {
        if (!sink.write([part])) await new Promise<void>((resolve) => sink.onDrain(resolve));
      }
    },
  };
}
