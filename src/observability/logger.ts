/**
 * Structured JSON logs (pino). Nothing secret is ever passed to the logger; the redaction list is a
 * second line of defence should a header or credential field slip into a log object.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const redactedPaths = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'api_key',
  '*.api_key',
  'x-api-key',
  '*["x-api-key"]',
  'key',
  '*.key',
  'admin_key',
  '*.admin_key',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'sluice' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
