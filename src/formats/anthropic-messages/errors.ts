/** Anthropic's error body, `{"type":"error","error":{"type","message"}}`, for `/v1/messages`. */
import { specOf } from '../../errors/error-table.js';
import type { GatewayError } from '../../errors/gateway-error.js';

export function anthropicErrorBody(error: GatewayError): string {
  return JSON.stringify({
    type: 'error',
    error: { type: specOf(error.kind).anthropicType, message: error.message },
  });
}

/** The event that ends a stream that failed midway; the Anthropic SDK raises it as an APIError. */
export function anthropicErrorEvent(error: GatewayError): string {
  return `event: error\ndata: ${anthropicErrorBody(error)}\n\n`;
}
