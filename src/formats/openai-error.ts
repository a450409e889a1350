/** OpenAI's error body, for every OpenAI-compatible route: `{"error":{"message","type","param","code"}}`. */
import { specOf } from '../errors/error-table.js';
import type { GatewayError } from '../errors/gateway-error.js';

export function openAIErrorBody(error: GatewayError): string {
  const spec = specOf(error.kind);
  return JSON.stringify({
    error: { message: error.message, type: spec.openaiType, param: error.param ?? null, code: spec.code },
  });
}
