// Bedrock's error answers: the type in the `x-amzn-ErrorType` header and `{"message": ...}` as the body
// (the request id comes with every answer, see bedrockHeaders). The AWS SDK reads the type from the header.
import type { FaultAnswers } from '../context.js';
import type { Exchange } from '../exchange.js';

/** A rejection a handler throws; the format server sends it. */
export class BedrockError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendBedrockError(ex: Exchange, error: BedrockError): void {
  ex.sendJson(error.status, JSON.stringify({ message: error.message }), ['x-amzn-errortype', error.type]);
}

export const validation = (message: string): BedrockError =>
  new BedrockError(400, 'ValidationException', message);

/** AWS's constraint-violation wording, e.g. for inferenceConfig.maxTokens: 0. */
export function constraint(value: unknown, path: string, rule: string): BedrockError {
  return validation(
    `1 validation error detected: Value '${String(value)}' at '${path}' failed to satisfy constraint: ${rule}`,
  );
}

export const THROTTLED = 'Too many requests, please wait before trying again.';
export const UNAVAILABLE = 'Bedrock is unable to process your request.';
export const INTERNAL = 'The server encountered an internal error while processing the request.';

export const bedrockFaults: FaultAnswers = {
  serverError(ex) {
    sendBedrockError(ex, new BedrockError(500, 'InternalServerException', INTERNAL));
  },
  // Bedrock sends no Retry-After; the SDKs back off on their own.
  rateLimited(ex) {
    sendBedrockError(ex, new BedrockError(429, 'ThrottlingException', THROTTLED));
  },
  overloaded(ex) {
    sendBedrockError(ex, new BedrockError(503, 'ServiceUnavailableException', UNAVAILABLE));
  },
};
