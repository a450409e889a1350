/**
 * A circuit breaker per target, in the classic three states (Nygard, "Release It!"; the shape of
 * resilience4j's CircuitBreaker):
 *
 *   closed ──(consecutiveFailures in a row, or failure rate ≥ errorRate once the window holds
 *             ≥ minRequests)──▶ open ──(openMs later)──▶ half-open ──(a trial succeeds)──▶ closed
 *                                 ▲                           │
 *                                 └──────(a trial fails)──────┘
 *
 * Why both triggers: the consecutive count reacts within a few requests to a target that went dark, the
 * rate catches one that fails intermittently (every other request) which never fails N in a row; the
 * minimum volume keeps two failures out of three requests at night from opening it.
 *
 * Half-open admits at most `halfOpenRequests` trials at a time, so a recovering target is probed, not
 * stampeded by everything that queued up while it was open. Open → half-open is computed lazily when the
 * state is read: no timers to leak or to fake in tests.
 *
 * Verdicts are not tagged with the state they were admitted in (the API stays allocation-free): a request
 * admitted while closed that ends during half-open counts as a trial verdict. That is recent evidence
 * about the same target, so it is acceptable; verdicts arriving while open are ignored (the target is
 * resting for openMs whatever late answers say).
 *
 * Per replica, in memory: each replica learns the target's health from its own traffic (docs/routing.md).
 *
 * Hand-written: opossum and cockatiel wrap the call itself (they want to own the promise, and their own
 * timers); routing needs a breaker it can consult before choosing a target and inform after the attempt.
 */
import { RollingCounts } from './rolling-counts.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Opens after this many failures in a row... */
  consecutiveFailures: number;
  /** ...or at this failure rate (0..1) over the window... */
  errorRate: number;
  /** ...once the window holds at least this many verdicts. */
  minRequests: number;
  windowMs: number;
  /** Rest time before half-open trials. */
  openMs: number;
  /** Trial requests in flight at a time when half-open. */
  halfOpenRequests: number;
}

export class CircuitBreaker {
  /** Called on every transition (metrics, logs); synchronously, after the state has changed. */
  onStateChange: ((state: BreakerState) => void) | undefined = undefined;

  private readonly options: BreakerOptions;
  private readonly now: () => number;
  /** first = successes, second = failures, over the window; only counted while closed. */
  private readonly window: RollingCounts;
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private openedAt = 0;
  private trialsInFlight = 0;

  constructor(options: BreakerOptions, now: () => number = Date.now) {
    this.options = options;
    this.now = now;
    this.window = new RollingCounts(options.windowMs);
  }

  /** The state now; 'open' turns into 'half-open' here once openMs have passed. */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) {
      this.trialsInFlight = 0;
      this.transition('half-open');
    }
    return this.current;
  }

  /**
   * May a request go to this target now? Closed: yes. Open: no. Half-open: yes for at most
   * halfOpenRequests trials at a time; the caller must then end each admitted request with exactly one of
   * onSuccess, onFailure or release.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.trialsInFlight >= this.options.halfOpenRequests) return false;
    this.trialsInFlight++;
    return true;
  }

  onSuccess(): void {
    const state = this.state;
    if (state === 'closed') {
      this.consecutive = 0;
      this.window.advance(this.now());
      this.window.addFirst();
    } else if (state === 'half-open') {
      // One good trial closes it: the window restarts empty so the failures that opened it do not
      // reopen it on the next blip.
      this.close();
    }
  }

  onFailure(): void {
    const state = this.state;
    if (state === 'half-open') {
      this.open();
      return;
    }
    if (state === 'open') return;
    this.consecutive++;
    const window = this.window;
    window.advance(this.now());
    window.addSecond();
    const total = window.first + window.second;
    if (
      this.consecutive >= this.options.consecutiveFailures ||
      (total >= this.options.minRequests && window.second >= this.options.errorRate * total)
    ) {
      this.open();
    }
  }

  /** An admitted request ended without a verdict (the client left, a hedge lost): frees its trial slot. */
  release(): void {
    if (this.state === 'half-open' && this.trialsInFlight > 0) this.trialsInFlight--;
  }

  private open(): void {
    this.openedAt = this.now();
    this.trialsInFlight = 0;
    this.consecutive = 0;
    this.transition('open');
  }

  private close(): void {
    this.trialsInFlight = 0;
    this.consecutive = 0;
    this.window.reset();
    this.transition('closed');
  }

  private transition(state: BreakerState): void {
    this.current = state;
    this.onStateChange?.(state);
  }
}
