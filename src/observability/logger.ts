/**
 * Structured JSON logs (pino). Nothing secret is ever passed to the logger; the redaction list is a
 * second line of defence should a header or credential field slip into a log object.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

// Top-level paths only: wildcard paths make the redactor walk every field of every line, which cost more
// than the rest of an access line put together.
export const redactedPaths = [
  'authorization',
  'api_key',
  'x-api-key',
  'admin_key',
  'headers.authorization',
  'headers["x-api-key"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'sluice' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    // Epoch milliseconds (pino's default) rather than ISO strings: formatting a date per line is measurable.
    timestamp: pino.stdTimeFunctions.epochTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Buffered writes: pino's default is one write(2) per line, which at a few thousand requests per second
  // costs more CPU than the requests themselves. Writes stay synchronous (an asynchronous destination goes
  // through libuv's thread pool, and the thread hand-offs cost more than the write), but happen once per
  // 4 KB. The gateway flushes every second and on shutdown, and the CLI on exit, so a crash loses at most
  // the last second of lines.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true, minLength: 4096 }));
}
