/**
 * The one table from error kind to status and wire vocabulary (after Fastify's error codes and Envoy's
 * response flags). `retryable` says whether a client retry can help; it drives `x-should-retry` and, later,
 * the gateway's own retry and fallback decisions.
 */
export interface ErrorSpec {
  status: number;
  /** OpenAI `error.type`. */
  openaiType: string;
  /** OpenAI `error.code`; null where OpenAI sends null. */
  code: string | null;
  /** Anthropic `error.type`. */
  anthropicType: string;
  retryable: boolean;
}

export const errorTable = {
  invalid_json: {
    status: 400,
    openaiType: 'invalid_request_error',
    code: 'invalid_json',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  invalid_request: {
    status: 400,
    openaiType: 'invalid_request_error',
    code: 'invalid_request',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  unauthorized: {
    status: 401,
    openaiType: 'invalid_request_error',
    code: 'invalid_api_key',
    anthropicType: 'authentication_error',
    retryable: false,
  },
  route_not_found: {
    status: 404,
    openaiType: 'invalid_request_error',
    code: 'not_found',
    anthropicType: 'not_found_error',
    retryable: false,
  },
  model_not_found: {
    status: 404,
    openaiType: 'invalid_request_error',
    code: 'model_not_found',
    anthropicType: 'not_found_error',
    retryable: false,
  },
  method_not_allowed: {
    status: 405,
    openaiType: 'invalid_request_error',
    code: 'method_not_allowed',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  request_timeout: {
    status: 408,
    openaiType: 'invalid_request_error',
    code: 'request_timeout',
    anthropicType: 'timeout_error',
    retryable: true,
  },
  payload_too_large: {
    status: 413,
    openaiType: 'invalid_request_error',
    code: 'payload_too_large',
    anthropicType: 'request_too_large',
    retryable: false,
  },
  unsupported_media_type: {
    status: 415,
    openaiType: 'invalid_request_error',
    code: 'unsupported_media_type',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  /** A limit of the gateway's own (key, team) refused the request now: retry after Retry-After. */
  rate_limited: {
    status: 429,
    openaiType: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    anthropicType: 'rate_limit_error',
    retryable: true,
  },
  /** The Idempotency-Key was used with another body. */
  idempotency_mismatch: {
    status: 422,
    openaiType: 'invalid_request_error',
    code: 'idempotency_key_reused',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  /** A request with the same Idempotency-Key is still running after the wait. */
  idempotency_in_progress: {
    status: 409,
    openaiType: 'invalid_request_error',
    code: 'idempotency_in_progress',
    anthropicType: 'invalid_request_error',
    retryable: true,
  },
  /** A budget (key, team or end-user) cannot cover the request's worst-case cost this period. */
  budget_exceeded: {
    status: 429,
    openaiType: 'insufficient_quota',
    code: 'budget_exceeded',
    anthropicType: 'rate_limit_error',
    retryable: false,
  },
  /** The request needs more than a limit could ever admit (its tokens exceed the tpm limit itself). */
  exceeds_limit: {
    status: 400,
    openaiType: 'invalid_request_error',
    code: 'request_exceeds_limit',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  /** Shed: the target's queue is full or the wait would outlast the request's deadline. */
  overloaded: {
    status: 503,
    openaiType: 'api_error',
    code: 'overloaded',
    anthropicType: 'overloaded_error',
    retryable: true,
  },
  /** The shared state backend is unreachable and `state.on_error` is `closed`. */
  state_unavailable: {
    status: 503,
    openaiType: 'api_error',
    code: 'state_unavailable',
    anthropicType: 'overloaded_error',
    retryable: true,
  },
  unsupported_feature: {
    status: 400,
    openaiType: 'invalid_request_error',
    code: 'unsupported_feature',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  /** The upstream refused the request itself (a 4xx other than auth and rate limits): its status is kept. */
  upstream_bad_request: {
    status: 400,
    openaiType: 'invalid_request_error',
    code: 'upstream_bad_request',
    anthropicType: 'invalid_request_error',
    retryable: false,
  },
  upstream_rate_limited: {
    status: 429,
    openaiType: 'rate_limit_error',
    code: 'rate_limit_exceeded',
    anthropicType: 'rate_limit_error',
    retryable: true,
  },
  /** The provider rejected the gateway's own credentials: an operator problem, not the client's. */
  upstream_auth_failed: {
    status: 502,
    openaiType: 'api_error',
    code: 'upstream_auth_failed',
    anthropicType: 'api_error',
    retryable: false,
  },
  upstream_error: {
    status: 502,
    openaiType: 'api_error',
    code: 'upstream_error',
    anthropicType: 'api_error',
    retryable: true,
  },
  upstream_unreachable: {
    status: 502,
    openaiType: 'api_error',
    code: 'upstream_unreachable',
    anthropicType: 'api_error',
    retryable: true,
  },
  /** The provider said it is overloaded (503, Anthropic's 529, an in-stream overloaded event). */
  upstream_overloaded: {
    status: 503,
    openaiType: 'api_error',
    code: 'upstream_overloaded',
    anthropicType: 'overloaded_error',
    retryable: true,
  },
  /** Every target of the model is resting (breaker open, ejected, at its limits): nothing was sent. */
  no_available_target: {
    status: 503,
    openaiType: 'api_error',
    code: 'no_available_target',
    anthropicType: 'overloaded_error',
    retryable: true,
  },
  upstream_timeout: {
    status: 504,
    openaiType: 'api_error',
    code: 'upstream_timeout',
    anthropicType: 'timeout_error',
    retryable: true,
  },
  upstream_stream_interrupted: {
    status: 502,
    openaiType: 'api_error',
    code: 'upstream_stream_interrupted',
    anthropicType: 'api_error',
    retryable: true,
  },
  /** The client left before the answer was complete (nginx's 499); never written, only recorded. */
  client_closed: {
    status: 499,
    openaiType: 'api_error',
    code: 'client_closed',
    anthropicType: 'api_error',
    retryable: false,
  },
  shutting_down: {
    status: 503,
    openaiType: 'api_error',
    code: 'shutting_down',
    anthropicType: 'overloaded_error',
    retryable: true,
  },
  internal: {
    status: 500,
    openaiType: 'api_error',
    code: 'internal_error',
    anthropicType: 'api_error',
    retryable: true,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorKind = keyof typeof errorTable;

export function specOf(kind: ErrorKind): ErrorSpec {
  return errorTable[kind];
}
