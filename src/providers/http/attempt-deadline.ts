/**
 * One upstream attempt's abort signal: it fires when the client leaves, when the total timeout passes,
 * when a stream's first token is later than `ttft_ms`, or when a stream stays silent for `idle_ms`. Own
 * timers instead of AbortSignal.timeout/any: plain timers, refreshed per chunk and cleared on completion,
 * cost less on the hot path and leave nothing behind.
 */
import { GatewayError } from '../../errors/gateway-error.js';
import type { Timeouts } from '../../config/schema.js';

export class AttemptDeadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private totalTimer: NodeJS.Timeout | undefined;
  private ttftTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;
  private readonly onClientAbort: () => void;
  private readonly clientSignal: AbortSignal;

  constructor(clientSignal: AbortSignal, timeouts: Timeouts, stream: boolean) {
    this.signal = this.controller.signal;
    this.clientSignal = clientSignal;
    this.idleMs = timeouts.idle_ms;
    this.onClientAbort = () =>
      this.abort(clientSignal.reason ?? new GatewayError('client_closed', 'client disconnected'));
    if (clientSignal.aborted) {
      this.controller.abort(clientSignal.reason);
      return;
    }
    clientSignal.addEventListener('abort', this.onClientAbort, { once: true });
    this.totalTimer = setTimeout(
      () =>
        this.abort(
          new GatewayError('upstream_timeout', `upstream did not finish within ${timeouts.total_ms} ms`),
        ),
      timeouts.total_ms,
    );
    if (stream) {
      this.ttftTimer = setTimeout(
        () =>
          this.abort(
            new GatewayError(
              'upstream_timeout',
              `upstream sent no first token within ${timeouts.ttft_ms} ms`,
            ),
          ),
        timeouts.ttft_ms,
      );
    }
  }

  firstToken(): void {
    if (this.ttftTimer !== undefined) {
      clearTimeout(this.ttftTimer);
      this.ttftTimer = undefined;
    }
  }

  /** A stream chunk arrived: restart the idle clock (refresh() re-arms the same timer, no allocation). */
  chunk(): void {
    if (this.idleTimer !== undefined) {
      this.idleTimer.refresh();
      return;
    }
    if (this.signal.aborted) return;
    this.idleTimer = setTimeout(
      () =>
        this.abort(
          new GatewayError('upstream_timeout', `upstream stream was idle for more than ${this.idleMs} ms`),
        ),
      this.idleMs,
    );
  }

  /** The reason the attempt was aborted, if it was. */
  get reason(): unknown {
    return this.signal.aborted ? this.signal.reason : undefined;
  }

  abort(reason: unknown): void {
    this.release();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Clears timers and the client listener; call when the attempt has finished either way. */
  release(): void {
    if (this.totalTimer !== undefined) clearTimeout(this.totalTimer);
    if (this.ttftTimer !== undefined) clearTimeout(this.ttftTimer);
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.totalTimer = undefined;
    this.ttftTimer = undefined;
    this.idleTimer = undefined;
    this.clientSignal.removeEventListener('abort', this.onClientAbort);
  }
}
