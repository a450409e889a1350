/**
 * The OTLP export worker: a thread of its own that runs the OpenTelemetry SDK (otlp-export.ts) on the
 * span records the gateway's thread posts to it. Serialising and sending spans costs the request path
 * nothing but the post, and the exporter's network code (node:http) runs in this thread's own isolate:
 * run on the gateway's thread, a few exports a second made the call sites node:http shares between
 * client and server polymorphic, and cost every request, traced or not, several per cent of throughput
 * (bench/observability.ts, 1% sampling: 0.82 of the throughput without tracing, against 0.88-0.95 from
 * here, where the CPU time per request at a fixed rate equals tracing off).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createOtlpSink } from './otlp-export.js';
import type { TracingSettings } from './settings.js';
import type { SpanRecord } from './span-tree.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('export-worker.ts runs as a worker thread (tracing/index.ts starts it)');
const post = (message: FromWorker): void => port.postMessage(message);

const sink = await createOtlpSink(workerData as TracingSettings, {
  warn: (fields, message) => post({ type: 'log', level: 'warn', fields, message }),
  info: (fields, message) => post({ type: 'log', level: 'info', fields, message }),
});

// Messages posted while the SDK was loading wait in the port's queue until this listener is attached.
port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'spans':
      sink.write(JSON.parse(message.json) as SpanRecord[], message.epochOffsetMs);
      break;
    case 'flush':
      void sink.forceFlush().finally(() => post({ type: 'done', id: message.id }));
      break;
    case 'shutdown':
      void sink.shutdown().finally(() => {
        post({ type: 'done', id: message.id });
        port.close();
      });
      break;
  }
});
