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
  // Buffered, asynchronous writes. pino's default is one synchronous write(2) per line, which at a few
  // thousand requests per second costs more CPU than the requests themselves, and a synchronous write
  // into a pipe whose reader is slow (a busy log shipper) would stall the event loop. Lines are written in
  // 4 KB batches off the loop; if the reader stops altogether, at most 16 MB wait and newer lines are
  // dropped rather than growing memory without bound. The gateway flushes every second and on shutdown.
  return pino(
    options,
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, maxLength: 16 * 1024 * 1024 }),
  );
}

/** Writes out buffered lines now, synchronously: for shutdown and exit, when no later tick will come. */
export function flushLogsSync(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[
    pino.symbols.streamSym
  ];
  try {
    stream?.flushSync?.();
  } catch {
    // Nothing left to write to (the reader is gone): there is no one to tell.
  }
}
