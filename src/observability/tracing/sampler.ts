/**
 * The sampling decision for a request's trace, made once, on request:start, by the tracing subscriber.
 *
 * Parent-based (the default): a client traceparent's sampled flag is followed, so a trace is recorded
 * whole or not at all across services. A trace that starts at the gateway is decided by the root
 * sampler; `traceidratio` reads the trace id's rightmost 56 bits as the randomness R and samples when
 * R >= (1 - ratio) * 2^56: the consistent probability sampling of the OpenTelemetry spec
 * (https://opentelemetry.io/docs/specs/otel/trace/tracestate-probability-sampling/) over W3C level 2
 * random trace ids. The decision depends on the trace id alone, so every replica (and any other
 * service using the same rule) decides a given trace alike, and exactly `ratio` of random ids pass.
 */
import type { SamplerSettings } from './settings.js';

/** R and the threshold are compared on their top 52 bits: what a double holds exactly. */
const scale = 2 ** 52;

export type Sampler = (traceId: string, hasParent: boolean, parentSampled: boolean) => boolean;

export function createSampler(settings: SamplerSettings): Sampler {
  const root = rootSampler(settings);
  if (!settings.parentBased) return (traceId) => root(traceId);
  return (traceId, hasParent, parentSampled) => (hasParent ? parentSampled : root(traceId));
}

function rootSampler(settings: SamplerSettings): (traceId: string) => boolean {
  if (settings.root === 'always_on') return () => true;
  if (settings.root === 'always_off') return () => false;
  if (settings.ratio >= 1) return () => true;
  if (settings.ratio <= 0) return () => false;
  const threshold = (1 - settings.ratio) * scale;
  // Hex digits 18..30 of the 32 are the top 52 of the rightmost 56 bits.
  return (traceId) => parseInt(traceId.slice(18, 31), 16) >= threshold;
}
