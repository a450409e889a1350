/**
 * A request's cancellation: fires once, when the client leaves. Not an AbortController because one per
 * request costs an EventTarget, its listener objects and their removal on every request, which showed in
 * profiles; this is a flag and a short array. APIs that insist on an AbortSignal get one made on demand.
 */
export class Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
    this.controller?.abort(reason);
  }

  /** Calls `listener` once on abort (at once if already aborted); returns the function that unsubscribes. */
  onAbort(listener: () => void): () => void {
    if (this.aborted) {
      listener();
      return noop;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const listeners = this.listeners;
      if (listeners === undefined) return;
      const at = listeners.indexOf(listener);
      if (at !== -1) listeners.splice(at, 1);
    };
  }

  /** An AbortSignal that follows this cancellation, for APIs that need one (made on first use). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

function noop(): void {}
