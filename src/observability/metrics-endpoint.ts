/**
 * `GET /metrics`: OpenMetrics (with exemplars) when the scraper's Accept header prefers it, as Prometheus
 * does by default, else the Prometheus text format, which has no exemplars.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Registry } from './prom-client-parts.js';
import type { GatewayMetrics } from './metrics.js';

/** The q of one media range (`;q=0.5`); 1 when absent, 0 when unreadable. */
function qualityOf(params: readonly string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=');
    if (name?.trim().toLowerCase() !== 'q') continue;
    const q = Number(value);
    return Number.isFinite(q) ? q : 0;
  }
  return 1;
}

/**
 * Whether the Accept header asks for OpenMetrics at least as much as for the Prometheus text format
 * (RFC 9110 §12.5.1 quality values). Prometheus sends, say,
 * `application/openmetrics-text;version=1.0.0;q=0.6,…,text/plain;version=0.0.4;q=0.3,…`; a
 * scraper configured to prefer the text format lists `text/plain` higher, and gets it.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined || !accept.toLowerCase().includes('application/openmetrics-text')) return false;
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const name = type.trim().toLowerCase();
    if (name === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, qualityOf(params));
    else if (name === 'text/plain') text = Math.max(text, qualityOf(params));
  }
  return openMetrics > 0 && openMetrics >= text;
}

export function serveMetrics(
  metrics: GatewayMetrics,
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
): void {
  const openMetrics = prefersOpenMetrics(req.headers.accept);
  metrics.render(openMetrics).then(
    (text) => {
      res.writeHead(200, {
        'content-type': openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE,
      });
      res.end(text);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'metrics collection failed');
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"metrics collection failed"}');
    },
  );
}
