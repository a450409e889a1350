/**
 * Traces: `startTracing` subscribes the recorder and exports sampled requests' spans over OTLP when the
 * standard OTEL_EXPORTER_OTLP_* variables name an endpoint (settings.ts). Without one it does nothing at
 * all: no subscriber, no worker, no OpenTelemetry module loaded. The trace ids themselves
 * (pipeline/observe.ts) and the traceparent sent upstream (pipeline/call-upstream.ts) exist either way.
 *
 * With an endpoint, the recorder's span records are posted in batches to the export worker
 * (export-worker.ts), which alone loads the SDK. Records posted before the worker is up wait in its
 * message queue, so the first requests of a new gateway are traced too.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { upstreamIdentity } from './gen-ai.js';
import { subscribeTraceRecorder } from './recorder.js';
import { createSampler } from './sampler.js';
import { redactedUrl, resolveTracing, type Env, type TracingSettings } from './settings.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

export interface Tracing {
  /** Whether spans are being exported. */
  readonly exporting: boolean;
  /** Sends what has been recorded so far (tests; before a planned stop). */
  flush(): Promise<void>;
  /** Stops recording, sends what is left (bounded by the export timeout) and stops the worker. */
  close(): Promise<void>;
}

const off: Tracing = { exporting: false, flush: async () => {}, close: async () => {} };

/**
 * Records are posted to the worker in batches, as JSON text: one message per request would cost more in
 * messaging than the spans themselves, and the structured clone of objects with a dozen attribute names
 * each cost the gateway's thread about twice what JSON.stringify does (a string is copied whole). A
 * batch goes when it is this large or this old.
 */
const batchSpans = 256;
const batchDelayMs = 100;

function describeSampler(settings: TracingSettings): string {
  const { root, ratio, parentBased } = settings.sampler;
  const name = root === 'traceidratio' ? `traceidratio ${ratio}` : root;
  return parentBased ? `parentbased_${name}` : name;
}

/**
 * @param owner the gateway instance (requests of other instances in the process are ignored)
 * @param env the process environment (process.env), where OpenTelemetry's settings live
 */
export function startTracing(owner: object, config: Config, logger: Logger, env: Env): Tracing {
  const resolved = resolveTracing(config.observability.tracing, env);
  for (const warning of resolved.warnings) logger.warn(`tracing: ${warning}`);
  if (!resolved.export) {
    if (resolved.reason !== 'no OTLP endpoint configured') logger.warn(`tracing off: ${resolved.reason}`);
    return off;
  }
  const settings = resolved.settings;
  const upstreams = new Map(config.providers.map((p) => [p.name, upstreamIdentity(p)] as const));

  const worker = new Worker(new URL('./export-worker.js', import.meta.url), {
    workerData: settings,
    name: 'sluice-otlp-export',
  });
  // The worker never keeps the process alive: close() stops it, and a crash ends it anyway.
  worker.unref();
  let alive = true;
  let nextId = 0;
  const waiting = new Map<number, () => void>();
  const send = (message: ToWorker): void => {
    if (alive) worker.postMessage(message);
  };
  /** Sends a request and waits for the worker's answer (or its end). */
  const ask = (type: 'flush' | 'shutdown'): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!alive) return resolve();
      const id = nextId++;
      waiting.set(id, resolve);
      send({ type, id });
    });
  const ended = (): void => {
    alive = false;
    for (const resolve of waiting.values()) resolve();
    waiting.clear();
  };
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'done') {
      waiting.get(message.id)?.();
      waiting.delete(message.id);
    } else if (message.level === 'warn') logger.warn(message.fields, `tracing: ${message.message}`);
    else logger.info(message.fields, `tracing: ${message.message}`);
  });
  worker.on('error', (error) => {
    logger.error({ err: error }, 'tracing off: the OTLP export worker failed');
    unsubscribe();
    ended();
  });
  worker.on('exit', ended);

  let batch = '';
  let batched = 0;
  let timer: NodeJS.Timeout | undefined;
  const post = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (batched === 0) return;
    send({ type: 'spans', json: `[${batch}]`, epochOffsetMs: Date.now() - performance.now() });
    batch = '';
    batched = 0;
  };
  const unsubscribe = subscribeTraceRecorder(owner, createSampler(settings.sampler), upstreams, (spans) => {
    if (!alive || spans.length === 0) return;
    const json = JSON.stringify(spans);
    // The records of one request, without the array's brackets, joined to the batch's.
    batch += batched === 0 ? json.slice(1, -1) : `,${json.slice(1, -1)}`;
    batched += spans.length;
    if (batched >= batchSpans) post();
    else timer ??= setTimeout(post, batchDelayMs).unref();
  });
  logger.info(
    { endpoint: redactedUrl(settings.url), protocol: settings.protocol, sampler: describeSampler(settings) },
    'tracing: exporting spans over OTLP',
  );

  return {
    exporting: true,
    async flush() {
      post();
      await ask('flush');
    },
    async close() {
      unsubscribe();
      post();
      // A collector that never answers must not hold the gateway's shutdown: the worker's own export
      // timeout ends its last export, and this bound ends the wait should the worker hang.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        ask('shutdown'),
        new Promise((resolve) => {
          bound = setTimeout(resolve, settings.timeoutMs + 1_000).unref();
        }),
      ]);
      clearTimeout(bound);
      await worker.terminate();
      ended();
    },
  };
}
