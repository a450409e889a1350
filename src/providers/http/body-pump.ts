/**
 * What every upstream stream does after its first read, pass-through or translated: pump the rest of the
 * body into the client's sink chunk by chunk, pause while the sink is congested, and end exactly once, on
 * the body's end, its error, or a close without either, releasing the attempt's deadline and destroying
 * the body when ending early (leaving must end the upstream request, not drain it).
 */
import type { Dispatcher } from 'undici';
import { GatewayError } from '../../errors/gateway-error.js';
import type { AttemptDeadline } from './attempt-deadline.js';
import { transportError } from './transport-errors.js';

/** A stream body that broke after it started: a timeout keeps its kind, a lost connection is a cut. */
export function streamFailure(error: unknown, deadline: AttemptDeadline, providerName: string): GatewayError {
  const mapped = transportError(error, deadline.reason, providerName);
  if (mapped.kind !== 'upstream_unreachable') return mapped;
  return new GatewayError('upstream_stream_interrupted', `provider ${providerName} cut the stream`, {
    cause: error,
  });
}

export interface BodyHandlers {
  /** Delivers what the first read already produced; false when the sink is congested. Throws to fail. */
  start(): boolean;
  /** One chunk; false when the sink is congested (the body pauses until `onDrain`). Throws to fail. */
  data(chunk: Buffer): boolean;
  /** The body ended: returns the error that ends the stream, if any. Throws to fail. */
  end(): unknown;
  onDrain(resume: () => void): void;
}

export function pumpBody(
  body: Dispatcher.ResponseData['body'],
  deadline: AttemptDeadline,
  providerName: string,
  handlers: BodyHandlers,
  /** The first read already saw the end of the body. */
  endedAlready = false,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const resume = (): void => {
      body.resume();
    };
    let settled = false;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      deadline.release();
      if (error === undefined) return resolve();
      if (!body.destroyed) body.destroy();
      reject(error);
    };
    const congested = (): void => {
      body.pause();
      handlers.onDrain(resume);
    };
    const onData = (chunk: Buffer): void => {
      try {
        if (!handlers.data(chunk)) congested();
      } catch (error) {
        finish(error);
      }
    };
    const onEnd = (): void => {
      try {
        finish(handlers.end());
      } catch (error) {
        finish(error);
      }
    };
    const fail = (error: unknown): GatewayError => streamFailure(error, deadline, providerName);
    const onError = (error: Error): void => finish(fail(error));
    // A body destroyed without an error event (the socket went away between two reads) ends here.
    const onClose = (): void => finish(fail(body.errored ?? new Error('upstream body closed')));
    try {
      if (!handlers.start()) congested();
    } catch (error) {
      return finish(error);
    }
    if (endedAlready) return finish();
    if (body.errored !== null) return finish(fail(body.errored));
    // The whole stream may have come with the first read, and 'end' gone out before we listened.
    if (body.readableEnded) return onEnd();
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}
