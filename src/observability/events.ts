/**
 * The pipeline's events, on node:diagnostics_channel (as undici publishes its own): metrics, logs and,
 * later, traces subscribe; the hot path never imports them. Publishing with no subscriber costs a branch.
 */
import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { RequestContext } from '../pipeline/context.js';

export const requestStart = diagnosticsChannel.channel('sluice:request:start');
export const requestEnd = diagnosticsChannel.channel('sluice:request:end');
export const attemptStart = diagnosticsChannel.channel('sluice:attempt:start');
export const attemptEnd = diagnosticsChannel.channel('sluice:attempt:end');
export const firstToken = diagnosticsChannel.channel('sluice:first-token');
/** A routing decision beyond the plain first attempt: retry, fallback, hedge, or a retry refused by the budget. */
export const routeDecision = diagnosticsChannel.channel('sluice:route');

/** An admission decision: by the limits (admit stage), the budgets (charge) or a target's concurrency queue. */
export const admissionDecision = diagnosticsChannel.channel('sluice:admission');

export interface AdmissionEvent {
  ctx: RequestContext;
  stage: 'limits' | 'budget' | 'queue';
  outcome: 'admitted' | 'rejected' | 'shed' | 'abandoned';
  /**
   * limits: `within_limits`, `rpm`, `tpm`, `concurrency`, `exceeds_limit`, `state_unavailable` (refused, or
   * admitted unlimited by on_error: open when even local limits failed). queue: `immediate`, `waited`,
   * `queue_full`, `deadline`, `shed` (evicted by an interactive request), `client_gone`. budget:
   * `within_budget`, `budget_exceeded`, `state_unavailable`.
   */
  reason: string;
  /** queue: how long the request waited for its slot. */
  waitedMs?: number;
}

/** What the Idempotency-Key stage did with a request: stored its answer, replayed one, or refused it. */
export const cacheResult = diagnosticsChannel.channel('sluice:cache');

export interface CacheEvent {
  ctx: RequestContext;
  cache: 'idempotency';
  /**
   * `stored`: the first answer was kept; `replayed`: a repeat got it; `conflict`: the key came with another
   * body (422); `in_progress`: the first was still running past the wait (409).
   */
  result: 'stored' | 'replayed' | 'conflict' | 'in_progress';
}

export interface RouteDecisionEvent {
  ctx: RequestContext;
  decision: 'retry' | 'fallback' | 'hedge' | 'budget-exhausted';
  provider: string;
  model: string;
}

export interface AttemptEvent {
  ctx: RequestContext;
  provider: string;
  model: string;
  attempt: number;
  /** The attempt's span id, sent upstream in its traceparent (the upstream's parent span). */
  spanId: string;
  /** Set on attempt:end when the attempt failed. */
  error?: unknown;
}

export function publish(channel: diagnosticsChannel.Channel, message: unknown): void {
  if (channel.hasSubscribers) channel.publish(message);
}

/**
 * Subscribes a handler that can never break a request: diagnostics_channel rethrows a subscriber's
 * exception as an uncaught exception, which would take the whole process down for a metrics bug.
 */
export function subscribe(
  channel: diagnosticsChannel.Channel,
  handler: (message: unknown) => void,
): () => void {
  let warned = false;
  const safe = (message: unknown): void => {
    try {
      handler(message);
    } catch (error) {
      if (!warned) {
        warned = true;
        process.emitWarning(
          `sluice: a ${channel.name.toString()} subscriber failed: ${(error as Error).message}`,
        );
      }
    }
  };
  channel.subscribe(safe);
  return () => channel.unsubscribe(safe);
}
