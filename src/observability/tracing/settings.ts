/**
 * What OTLP trace export does, resolved once from the standard OpenTelemetry environment variables and the
 * config's `observability.tracing`. The variables win where both speak, as the OpenTelemetry spec has it
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/, and the OTLP
 * exporter's https://opentelemetry.io/docs/specs/otel/protocol/exporter/). The environment is a
 * parameter: the caller passes process.env, tests their own.
 *
 * Export is on only when an endpoint is named (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
 * OTEL_EXPORTER_OTLP_ENDPOINT plus `/v1/traces`): unlike an SDK that defaults to localhost:4318, a gateway
 * nobody pointed at a collector sends nothing and loads no OpenTelemetry code.
 */
import type { Config } from '../../config/schema.js';

export type TracingConfig = Config['observability']['tracing'];
export type Env = Readonly<Record<string, string | undefined>>;

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface SamplerSettings {
  /** The decision for a trace that starts at the gateway (no valid traceparent, or not parent-based). */
  root: 'always_on' | 'always_off' | 'traceidratio';
  /** For `traceidratio`: the share of traces recorded, 0..1. */
  ratio: number;
  /** With a client traceparent, follow its sampled flag instead of deciding anew. */
  parentBased: boolean;
}

export interface TracingSettings {
  /** The full URL spans are POSTed to. */
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, service.name excluded (serviceName has it). */
  resourceAttributes: Record<string, string>;
  sampler: SamplerSettings;
  batch: {
    scheduledDelayMillis: number;
    exportTimeoutMillis: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
  };
}

export type ResolvedTracing =
  | { export: true; settings: TracingSettings; warnings: string[] }
  | { export: false; reason: string; warnings: string[] };

const value = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
};

/** The signal-specific variable if set, else the generic OTEL_EXPORTER_OTLP_ one. */
const otlp = (env: Env, suffix: string): string | undefined =>
  value(env, `OTEL_EXPORTER_OTLP_TRACES_${suffix}`) ?? value(env, `OTEL_EXPORTER_OTLP_${suffix}`);

/** `key1=value1,key2=value2`, percent-decoded (the W3C Baggage syntax the spec uses for these lists). */
export function parseKeyValueList(
  text: string | undefined,
  warnings: string[],
  name: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) {
      warnings.push(`${name}: ignored "${item.trim()}" (expected key=value)`);
      continue;
    }
    try {
      out[decodeURIComponent(item.slice(0, eq).trim())] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      warnings.push(`${name}: ignored an entry that is not valid percent-encoding`);
    }
  }
  return out;
}

function integer(env: Env, name: string, fallback: number, warnings: string[]): number {
  const text = value(env, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (Number.isInteger(n) && n >= 0) return n;
  warnings.push(`${name}=${text} is not a non-negative integer; using ${fallback}`);
  return fallback;
}

function tracesUrl(env: Env): string | undefined {
  const specific = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (specific !== undefined) return specific;
  const base = value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (base === undefined) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function samplerSettings(env: Env, config: TracingConfig, warnings: string[]): SamplerSettings {
  const argText = value(env, 'OTEL_TRACES_SAMPLER_ARG');
  let ratio = config.sample_ratio;
  if (argText !== undefined) {
    const arg = Number(argText);
    if (Number.isFinite(arg) && arg >= 0 && arg <= 1) ratio = arg;
    else warnings.push(`OTEL_TRACES_SAMPLER_ARG=${argText} is not a ratio in [0, 1]; using ${ratio}`);
  }
  const name = value(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
  switch (name) {
    // Unset: the config's ratio with parent-based sampling; with sample_ratio 1 that is the spec's
    // default (parentbased_always_on).
    case undefined:
    case 'parentbased_traceidratio':
      return { root: 'traceidratio', ratio, parentBased: true };
    case 'traceidratio':
      return { root: 'traceidratio', ratio, parentBased: false };
    case 'always_on':
      return { root: 'always_on', ratio: 1, parentBased: false };
    case 'always_off':
      return { root: 'always_off', ratio: 0, parentBased: false };
    case 'parentbased_always_on':
      return { root: 'always_on', ratio: 1, parentBased: true };
    case 'parentbased_always_off':
      return { root: 'always_off', ratio: 0, parentBased: true };
    default:
      warnings.push(
        `OTEL_TRACES_SAMPLER=${name} is not supported; using parentbased_traceidratio with ratio ${ratio}`,
      );
      return { root: 'traceidratio', ratio, parentBased: true };
  }
}

export function resolveTracing(config: TracingConfig, env: Env): ResolvedTracing {
  const warnings: string[] = [];
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true')
    return { export: false, reason: 'OTEL_SDK_DISABLED=true', warnings };
  const exporters = value(env, 'OTEL_TRACES_EXPORTER');
  if (exporters !== undefined && !exporters.split(',').some((e) => e.trim().toLowerCase() === 'otlp'))
    return { export: false, reason: `OTEL_TRACES_EXPORTER=${exporters} (only otlp is supported)`, warnings };
  const url = tracesUrl(env);
  if (url === undefined) return { export: false, reason: 'no OTLP endpoint configured', warnings };
  try {
    new URL(url);
  } catch {
    return { export: false, reason: `OTLP traces endpoint ${url} is not a URL`, warnings };
  }
  const protocol = (otlp(env, 'PROTOCOL') ?? 'http/protobuf').toLowerCase();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json')
    return {
      export: false,
      reason: `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported (use http/protobuf or http/json)`,
      warnings,
    };
  const compression = otlp(env, 'COMPRESSION')?.toLowerCase() ?? 'none';
  if (compression !== 'gzip' && compression !== 'none')
    warnings.push(`OTEL_EXPORTER_OTLP_COMPRESSION=${compression} is not supported; sending uncompressed`);
  const headers = {
    ...parseKeyValueList(value(env, 'OTEL_EXPORTER_OTLP_HEADERS'), warnings, 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...parseKeyValueList(
      value(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
      warnings,
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
    ),
  };
  const resourceAttributes = parseKeyValueList(
    value(env, 'OTEL_RESOURCE_ATTRIBUTES'),
    warnings,
    'OTEL_RESOURCE_ATTRIBUTES',
  );
  const serviceName = value(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? 'sluice';
  delete resourceAttributes['service.name'];
  const timeoutText = otlp(env, 'TIMEOUT');
  const timeoutMs = timeoutText === undefined ? 10_000 : Number(timeoutText);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    warnings.push(`OTEL_EXPORTER_OTLP_TIMEOUT=${timeoutText} is not a positive integer; using 10000`);
  const maxQueueSize = Math.max(1, integer(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, warnings));
  return {
    export: true,
    warnings,
    settings: {
      url,
      protocol,
      headers,
      timeoutMs: Number.isInteger(timeoutMs) && timeoutMs > 0 ? timeoutMs : 10_000,
      compression: compression === 'gzip' ? 'gzip' : 'none',
      serviceName,
      resourceAttributes,
      sampler: samplerSettings(env, config, warnings),
      batch: {
        scheduledDelayMillis: integer(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, warnings),
        exportTimeoutMillis: integer(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, warnings),
        maxQueueSize,
        // The batch cannot be larger than the queue (the SDK would refuse the pair).
        maxExportBatchSize: Math.min(
          maxQueueSize,
          Math.max(1, integer(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, warnings)),
        ),
      },
    },
  };
}

/** The endpoint without credentials or query, for log lines (a URL may carry a token). */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
