// Error responses in OpenAI's envelope, `{"error":{message, type, param, code}}`, with OpenAI's wording.

/** A rejection a handler throws; the server turns it into the response. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  body(): string {
    return JSON.stringify({
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    });
  }
}

export function invalidRequest(
  message: string,
  param: string | null = null,
  code: string | null = null,
): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

export function missingParameter(param: string): ApiError {
  return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export function invalidType(param: string, expected: string, value: unknown): ApiError {
  return invalidRequest(
    `Invalid type for '${param}': expected ${expected}, but got ${typeName(value)} instead.`,
    param,
    'invalid_type',
  );
}

export function invalidValue(param: string, message: string): ApiError {
  return invalidRequest(`Invalid value for '${param}': ${message}`, param, 'invalid_value');
}

export const invalidJson = (): ApiError =>
  invalidRequest(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
      'library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you ' +
      'have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)',
  );

export const SERVER_ERROR_BODY = JSON.stringify({
  error: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    param: null,
    code: null,
  },
});

/** The request budget the simulated rate limit claims to have exhausted. */
export const OVERLOADED_BODY = JSON.stringify({
  error: {
    message: 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    param: null,
    code: null,
  },
});

export const RATE_LIMIT_REQUESTS = 10_000;

export function rateLimitBody(model: string, retryAfterSeconds: number): string {
  return JSON.stringify({
    error: {
      message:
        `Rate limit reached for requests on ${model} in organization org-sluice-simulator on requests per min ` +
        `(RPM): Limit ${RATE_LIMIT_REQUESTS}, Used ${RATE_LIMIT_REQUESTS}, Requested 1. Please try again in ` +
        `${retryAfterSeconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    },
  });
}

/** Shows a key's ends only, as OpenAI does, so logs of test runs never hold a full key. */
export function maskKey(key: string): string {
  if (key.length < 12) return '*'.repeat(Math.min(key.length, 8));
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 24))}${key.slice(-4)}`;
}

export function incorrectApiKey(received: string): ApiError {
  return new ApiError(
    401,
    `Incorrect API key provided: ${maskKey(received)}. You can find your API key at ` +
      'https://platform.openai.com/account/api-keys.',
    'invalid_request_error',
    null,
    'invalid_api_key',
  );
}

export const missingApiKey = (): ApiError =>
  new ApiError(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer " +
      'auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from ' +
      'https://platform.openai.com/account/api-keys.',
    'invalid_request_error',
  );

export const invalidUrl = (method: string, path: string): ApiError =>
  invalidRequestWithStatus(404, `Invalid URL (${method} ${path})`);

export const invalidMethod = (method: string, path: string): ApiError =>
  invalidRequestWithStatus(405, `Invalid method for URL (${method} ${path})`);

export const tooLarge = (limitBytes: number): ApiError =>
  invalidRequestWithStatus(413, `Request body too large: the limit is ${limitBytes} bytes.`);

export const modelNotFound = (model: string): ApiError =>
  new ApiError(
    404,
    `The model '${model}' does not exist`,
    'invalid_request_error',
    'model',
    'model_not_found',
  );

function invalidRequestWithStatus(status: number, message: string): ApiError {
  return new ApiError(status, message, 'invalid_request_error');
}
