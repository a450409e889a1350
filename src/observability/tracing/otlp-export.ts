/**
 * OTLP export through the OpenTelemetry SDK, run in the export worker (export-worker.ts): the recorder's
 * span records become the SDK's ReadableSpans, a BatchSpanProcessor batches them, and the SDK's OTLP/HTTP
 * exporter sends them as protobuf (`http/protobuf`, the spec's default) or JSON (`http/json`), with its
 * retries. Only the worker loads this module, and with it OpenTelemetry.
 *
 * The spans are handed to the processor as finished ReadableSpans rather than started and ended through
 * a Tracer: their ids are fixed before the SDK sees them (the server span's id is in every log line, each
 * attempt's is in the traceparent the upstream got), their times are explicit, and a Tracer would add
 * context handling, a sampler and per-span bookkeeping that buy nothing for spans built after the fact.
 */
import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  createTraceState,
  type Attributes,
  type HrTime,
  type Link,
  type SpanContext,
  type SpanStatus,
} from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type TimedEvent,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { redactedUrl, type TracingSettings } from './settings.js';
import type { SpanRecord } from './span-tree.js';

export interface OtlpSpanSink {
  /** `epochOffsetMs` turns the records' performance.now() times into epoch milliseconds. */
  write(spans: readonly SpanRecord[], epochOffsetMs: number): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Where the sink reports export failures and recoveries (the worker passes them to the gateway's log). */
export interface ExportLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

const kinds = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;
const unset: SpanStatus = { code: SpanStatusCode.UNSET };
const noLinks: Link[] = [];
const scope = { name: 'sluice' };
const success = ExportResultCode.SUCCESS;

function hrTime(epochMs: number): HrTime {
  let seconds = Math.floor(epochMs / 1000);
  let nanos = Math.round((epochMs - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return [seconds, nanos];
}

function duration(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [seconds, nanos];
}

/** A finished span as the SDK's processors and exporters read it. */
class RecordedSpan implements ReadableSpan {
  readonly kind: SpanKind;
  readonly name: string;
  readonly parentSpanContext: SpanContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links = noLinks;
  readonly events: TimedEvent[];
  readonly ended = true;
  readonly instrumentationScope = scope;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private readonly context: SpanContext;

  constructor(
    record: SpanRecord,
    readonly resource: Resource,
    traceState: SpanContext['traceState'],
    toEpoch: (ms: number) => number,
  ) {
    this.kind = kinds[record.kind];
    this.name = record.name;
    this.context = {
      traceId: record.traceId,
      spanId: record.spanId,
      traceFlags: TraceFlags.SAMPLED,
      traceState,
    };
    this.parentSpanContext =
      record.parentSpanId === ''
        ? undefined
        : {
            traceId: record.traceId,
            spanId: record.parentSpanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: record.parentRemote,
            traceState,
          };
    this.startTime = hrTime(toEpoch(record.startMs));
    this.endTime = hrTime(toEpoch(record.endMs));
    this.duration = duration(this.startTime, this.endTime);
    this.status = record.error === undefined ? unset : { code: SpanStatusCode.ERROR, message: record.error };
    this.attributes = record.attributes;
    this.events = record.events.map((event) => ({
      name: event.name,
      time: hrTime(toEpoch(event.timeMs)),
      ...(event.attributes === undefined ? {} : { attributes: event.attributes }),
    }));
  }

  spanContext(): SpanContext {
    return this.context;
  }
}

/**
 * Wraps the exporter to say when export starts failing and when it recovers, once each way: the SDK
 * reports failures only to its own diagnostic logger, which is silent unless set globally.
 */
function watched(exporter: SpanExporter, log: ExportLog, url: string): SpanExporter {
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== success && !failing) {
          failing = true;
          log.warn(
            { error: result.error?.message, endpoint: url, spans: spans.length },
            'OTLP trace export failing: spans are being dropped until the endpoint answers again',
          );
        } else if (result.code === success && failing) {
          failing = false;
          log.info({ endpoint: url }, 'OTLP trace export working again');
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/** Both exporters take the same options (the JSON one's type stands for both). */
type ExporterOptions = NonNullable<ConstructorParameters<typeof JsonTraceExporter>[0]>;

export async function createOtlpSink(settings: TracingSettings, log: ExportLog): Promise<OtlpSpanSink> {
  const options: ExporterOptions = {
    url: settings.url,
    headers: settings.headers,
    timeoutMillis: settings.timeoutMs,
    // The SDK's CompressionAlgorithm enum has exactly these two string values.
    compression: settings.compression as unknown as ExporterOptions['compression'],
  };
  // Only the exporter of the configured protocol is loaded.
  const exporter: SpanExporter =
    settings.protocol === 'http/json'
      ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(options)
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(options);
  const processor = new BatchSpanProcessor({
    exporter: watched(exporter, log, redactedUrl(settings.url)),
    ...settings.batch,
  });
  const resource = resourceFromAttributes({
    ...settings.resourceAttributes,
    [ATTR_SERVICE_NAME]: settings.serviceName,
  });
  let lastState: string | undefined;
  let lastParsed: SpanContext['traceState'];
  return {
    write(spans, epochOffsetMs) {
      const toEpoch = (ms: number): number => epochOffsetMs + ms;
      for (const record of spans) {
        // A request's spans share their trace's state; parse each distinct one once.
        const state = record.traceState;
        if (state !== lastState) {
          lastState = state;
          lastParsed = state === undefined ? undefined : createTraceState(state);
        }
        processor.onEnd(new RecordedSpan(record, resource, lastParsed, toEpoch));
      }
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}
