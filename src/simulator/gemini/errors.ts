// Google's error envelope (google.rpc.Status as JSON), with the wording the Gemini API and Vertex AI use:
// {"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT","details":[...]}}.
import type { FaultAnswers } from '../context.js';
import { ApiError } from '../errors.js';
import type { Exchange } from '../exchange.js';

/** A Google rejection; an ApiError, so the shared Exchange.fail answers it with this body. */
export class GoogleError extends ApiError {
  constructor(
    status: number,
    readonly grpcStatus: string,
    message: string,
    readonly details: readonly object[] = [],
  ) {
    super(status, message, grpcStatus);
  }

  override body(): string {
    const error: Record<string, unknown> = {
      code: this.status,
      message: this.message,
      status: this.grpcStatus,
    };
    if (this.details.length > 0) error['details'] = this.details;
    return JSON.stringify({ error });
  }
}

export const invalidArgument = (message: string, details: readonly object[] = []): GoogleError =>
  new GoogleError(400, 'INVALID_ARGUMENT', message, details);

/** A field-violation message as Google's request validation words it (one `* path: problem` line). */
export const fieldViolation = (path: string, problem: string): GoogleError =>
  invalidArgument(`* GenerateContentRequest.${path}: ${problem}\n`);

export const invalidJsonPayload = (): GoogleError =>
  invalidArgument('Invalid JSON payload received. Unexpected token.');

export const unknownField = (name: string, at: string | undefined): GoogleError =>
  invalidArgument(
    `Invalid JSON payload received. Unknown name "${name}"${at === undefined ? '' : ` at '${at}'`}: Cannot find field.`,
  );

export const invalidValue = (at: string, protoType: string, value: unknown): GoogleError =>
  invalidArgument(`Invalid value at '${at}' (${protoType}), ${JSON.stringify(value)}`);

export const notFound = (message: string): GoogleError => new GoogleError(404, 'NOT_FOUND', message);

export const methodNotFound = (): GoogleError => notFound('Method not found.');

export const modelNotFound = (model: string, version: string, method: string): GoogleError =>
  notFound(
    `models/${model} is not found for API version ${version}, or is not supported for ${method}. Call ` +
      'ListModels to see the list of available models and their supported methods.',
  );

export const missingApiKey = (): GoogleError =>
  new GoogleError(
    403,
    'PERMISSION_DENIED',
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key " +
      'or other form of API consumer identity to call this API.',
  );

export const invalidApiKey = (): GoogleError =>
  invalidArgument('API key not valid. Please pass a valid API key.', [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    },
  ]);

export const unauthenticated = (
  reason: 'CREDENTIALS_MISSING' | 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
): GoogleError =>
  new GoogleError(
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other ' +
      'valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason,
        domain: 'googleapis.com',
        metadata: {
          service: 'aiplatform.googleapis.com',
          method: 'google.cloud.aiplatform.v1.PredictionService',
        },
      },
    ],
  );

const INTERNAL = new GoogleError(
  500,
  'INTERNAL',
  'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
).body();

const UNAVAILABLE = new GoogleError(
  503,
  'UNAVAILABLE',
  'The model is overloaded. Please try again later.',
).body();

/** The Gemini API's quota answer: the wait is in a RetryInfo detail; Google sends no Retry-After header. */
function quotaExceeded(model: string, retryAfterSeconds: number): string {
  return new GoogleError(
    429,
    'RESOURCE_EXHAUSTED',
    'You exceeded your current quota, please check your plan and billing details. For more information on ' +
      'this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    [
      {
        '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
        violations: [
          {
            quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
            quotaId: 'GenerateRequestsPerMinutePerProjectPerModel',
            quotaDimensions: { location: 'global', model },
            quotaValue: '1000',
          },
        ],
      },
      {
        '@type': 'type.googleapis.com/google.rpc.Help',
        links: [
          {
            description: 'Learn more about Gemini API quotas',
            url: 'https://ai.google.dev/gemini-api/docs/rate-limits',
          },
        ],
      },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` },
    ],
  ).body();
}

const VERTEX_EXHAUSTED = new GoogleError(
  429,
  'RESOURCE_EXHAUSTED',
  'Resource exhausted. Please try again later. Please refer to ' +
    'https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.',
).body();

export const geminiFaults: FaultAnswers = {
  serverError(ex: Exchange) {
    ex.sendJson(500, INTERNAL);
  },
  rateLimited(ex: Exchange, model: string, retryAfterSeconds: number) {
    ex.sendJson(429, quotaExceeded(model, retryAfterSeconds));
  },
  overloaded(ex: Exchange) {
    ex.sendJson(503, UNAVAILABLE);
  },
};

export const vertexFaults: FaultAnswers = {
  serverError: geminiFaults.serverError,
  rateLimited(ex: Exchange) {
    ex.sendJson(429, VERTEX_EXHAUSTED);
  },
  overloaded: geminiFaults.overloaded,
};
