// What a running simulator's handlers share, and the latency and fault injection they all go through.
import { RATE_LIMIT_REQUESTS, SERVER_ERROR_BODY, rateLimitBody } from './errors.js';
import type { Exchange } from './exchange.js';
import type { SimulatorOptions } from './options.js';
import type { Random } from './random.js';

export interface SimulatorContext {
  options: SimulatorOptions;
  /** Draws injected 500s, 429s and stream cuts: one sequence per run, so a seed reproduces a run's faults. */
  faults: Random;
  /** Draws latency jitter apart from faults, so turning jitter on does not change which requests fail. */
  jitter: Random;
}

/**
 * Waits out the configured latency, then draws the injected faults, then calls `respond`. The latency comes
 * first because a real upstream spends time before it fails; a fault that came back instantly would make
 * tests of timeouts and retry budgets look better than production.
 */
export function afterLatency(ex: Exchange, ctx: SimulatorContext, model: string, respond: () => void): void {
  const { latencyMs, latencyJitterMs } = ctx.options;
  const delay = latencyJitterMs > 0 ? latencyMs + ctx.jitter.next() * latencyJitterMs : latencyMs;
  ex.after(delay, () => {
    const { errorRate, rateLimitRate, retryAfterSeconds } = ctx.options;
    if (errorRate > 0 && ctx.faults.next() < errorRate) {
      ex.sendJson(500, SERVER_ERROR_BODY);
    } else if (rateLimitRate > 0 && ctx.faults.next() < rateLimitRate) {
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
    } else {
      respond();
    }
  });
}
