/**
 * One upstream attempt's cancellation: it fires when the client leaves, when the total timeout passes,
 * when a stream's first token is later than `ttft_ms`, or when a stream stays silent for `idle_ms`.
 *
 * It is an EventEmitter that undici accepts as a request `signal` (it listens for 'abort' and reads
 * `reason`): cheaper per request than an AbortController. It deliberately has no `aborted` property, which
 * would make undici treat it as a real AbortSignal. Timers are plain, refreshed per chunk and cleared on
 * completion, so nothing is left behind.
 */
import { EventEmitter } from 'node:events';
import type { Timeouts } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Cancellation } from '../../http/cancellation.js';

export class AttemptDeadline extends EventEmitter {
  /** Why the attempt was aborted; undefined while it runs. */
  reason: unknown = undefined;
  private totalTimer: NodeJS.Timeout | undefined;
  private ttftTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;
  private readonly unsubscribe: () => void;

  constructor(cancel: Cancellation, timeouts: Timeouts, stream: boolean) {
    super();
    this.idleMs = timeouts.idle_ms;
    this.unsubscribe = cancel.onAbort(() =>
      this.abort(cancel.reason ?? new GatewayError('client_closed', 'client disconnected')),
    );
    if (this.reason !== undefined) return;
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

  get isAborted(): boolean {
    return this.reason !== undefined;
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
    if (this.reason !== undefined) return;
    this.idleTimer = setTimeout(
      () =>
        this.abort(
          new GatewayError('upstream_timeout', `upstream stream was idle for more than ${this.idleMs} ms`),
        ),
      this.idleMs,
    );
  }

  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.release();
    this.reason = reason;
    this.emit('abort');
  }

  /** Clears timers and the client listener; call when the attempt has finished either way. */
  release(): void {
    if (this.totalTimer !== undefined) clearTimeout(this.totalTimer);
    if (this.ttftTimer !== undefined) clearTimeout(this.ttftTimer);
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.totalTimer = undefined;
    this.ttftTimer = undefined;
    this.idleTimer = undefined;
    this.unsubscribe();
  }
}
