// What a running simulator's handlers share, and the latency and fault injection they all go through.
import type { ServingCapacity } from './capacity.js';
import { OVERLOADED_BODY, RATE_LIMIT_REQUESTS, SERVER_ERROR_BODY, rateLimitBody } from './errors.js';
import type { Exchange } from './exchange.js';
import type { SimulatorOptions } from './options.js';
import type { Random } from './random.js';

export interface SimulatorContext {
  options: SimulatorOptions;
  /** Draws injected 500s, 429s and stream cuts: one sequence per run, so a seed reproduces a run's faults. */
  faults: Random;
  /** Draws latency jitter apart from faults, so turning jitter on does not change which requests fail. */
  jitter: Random;
  /** The serving slots of --max-concurrency; requests wait here before their latency starts. */
  capacity: ServingCapacity;
}

/** How a wire format answers the injected faults: each format has its own error bodies and headers. */
export interface FaultAnswers {
  serverError(ex: Exchange): void;
  rateLimited(ex: Exchange, model: string, retryAfterSeconds: number): void;
  /** Anthropic's 529 overloaded_error, Gemini's 503 UNAVAILABLE, ... */
  overloaded(ex: Exchange, retryAfterSeconds: number): void;
}

export const openAIFaults: FaultAnswers = {
  serverError(ex) {
    ex.sendJson(500, SERVER_ERROR_BODY);
  },
  rateLimited(ex, model, retryAfterSeconds) {
    const retryAfter = String(retryAfterSeconds);
    ex.sendJson(429, rateLimitBody(model, retryAfterSeconds), [
      'retry-after',
      retryAfter,
      'x-ratelimit-limit-requests',
      String(RATE_LIMIT_REQUESTS),
      'x-ratelimit-remaining-requests',
      '0',
      'x-ratelimit-reset-requests',
      `${retryAfter}s`,
    ]);
  },
  overloaded(ex, retryAfterSeconds) {
    ex.sendJson(503, OVERLOADED_BODY, ['retry-after', String(retryAfterSeconds)]);
  },
};

/**
 * Waits for a serving slot (with --max-concurrency), then out the configured latency, then draws the
 * injected faults, then calls `respond`. The latency comes first because a real upstream spends time before
 * it fails; a fault that came back instantly would make tests of timeouts and retry budgets look better than
 * production. The slot comes before the latency because a full provider queues a request before working on
 * it: its whole answer, time to first token included, is later by the wait. The slot is held until the
 * response ends or the client leaves.
 */
export function afterLatency(
  ex: Exchange,
  ctx: SimulatorContext,
  model: string,
  respond: () => void,
  faults: FaultAnswers = openAIFaults,
): void {
  if (ctx.options.maxConcurrency <= 0) {
    serve(ex, ctx, model, respond, faults);
    return;
  }
  if (ex.closed) return;
  const release = ctx.capacity.acquire(() => {
    if (ex.closed) return;
    // Run from another request's release when this one waited: its errors must stay its own.
    try {
      serve(ex, ctx, model, respond, faults);
    } catch (error) {
      ex.fail(error);
    }
  });
  ex.res.once('close', release);
}

function serve(
  ex: Exchange,
  ctx: SimulatorContext,
  model: string,
  respond: () => void,
  faults: FaultAnswers,
): void {
  const { latencyMs, latencyJitterMs } = ctx.options;
  const delay = latencyJitterMs > 0 ? latencyMs + ctx.jitter.next() * latencyJitterMs : latencyMs;
  ex.after(delay, () => {
    const { errorRate, rateLimitRate, overloadRate, retryAfterSeconds } = ctx.options;
    if (errorRate > 0 && ctx.faults.next() < errorRate) {
      faults.serverError(ex);
    } else if (rateLimitRate > 0 && ctx.faults.next() < rateLimitRate) {
      faults.rateLimited(ex, model, retryAfterSeconds);
    } else if (overloadRate > 0 && ctx.faults.next() < overloadRate) {
      faults.overloaded(ex, retryAfterSeconds);
    } else {
      respond();
    }
  });
}
