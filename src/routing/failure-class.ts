/**
 * What a failed attempt means for routing: retry it, take a fallback list, or give the error to the
 * client. The error kind (errors/error-table.ts) decides, except for upstream 4xx answers, where the
 * provider's code and message tell a prompt too long for the model (worth a larger-context model) and a
 * policy refusal (worth a model with another policy) from a plain bad request (worth nothing: every
 * model would refuse it the same, and retrying it is how a gateway amplifies a client bug).
 *
 * The message patterns come from the providers' documented or observed errors, each noted beside its
 * pattern; they run only on a failed attempt, never on the success path.
 */
import type { ErrorKind } from '../errors/error-table.js';
import type { GatewayError } from '../errors/gateway-error.js';

export type FailureClass =
  | 'rate_limited'
  | 'overloaded'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'stream'
  | 'context_window'
  | 'content_policy'
  | 'auth'
  | 'client'
  | 'cancelled';

/** Provider error codes (OpenAI `code`, Anthropic `error.type`, ...) that name a prompt too long. */
const contextWindowCodes = new Set([
  'context_length_exceeded', // OpenAI, Azure OpenAI, most compatibles (vLLM, Mistral's OpenAI envelope)
  'model_context_window_exceeded',
  'request_too_large_for_model',
]);

/** Provider error codes that name a policy refusal. */
const contentPolicyCodes = new Set([
  'content_filter', // Azure OpenAI: prompt blocked by the content filter
  'content_policy_violation', // OpenAI (images, moderation-backed endpoints)
  'responsibleaipolicyviolation', // Azure OpenAI's innererror code, when it is the one passed on
  'moderation_blocked', // OpenAI image generation
  'guardrail_intervened', // Bedrock
  'prohibited_content', // Gemini block reason
]);

/**
 * Prompt-too-long messages, one alternative per provider family:
 * - OpenAI / Azure / vLLM / Mistral: "This model's maximum context length is 4097 tokens. However, your
 *   messages resulted in 5613 tokens." / Mistral: "Prompt contains 40000 tokens ... too large for model
 *   with 32768 maximum context length"; OpenAI Responses: "Your input exceeds the context window of this
 *   model."
 * - Anthropic: "prompt is too long: 219898 tokens > 200000 maximum"; "input length and max_tokens exceed
 *   context limit: 198981 + 21333 > 200000".
 * - Gemini: "The input token count (3475108) exceeds the maximum number of tokens allowed (1048576)."
 * - Bedrock: "Input is too long for requested model." / "too many input tokens".
 * - Cohere: "too many tokens: total number of tokens in the prompt cannot exceed 4081 - received 4577".
 */
const contextWindowMessage = new RegExp(
  [
    'maximum context length',
    'context (?:window|length) (?:of|exceeded)',
    'exceeds? the context window',
    'prompt is too long',
    'exceed context limit',
    'input token count',
    'exceeds the maximum number of tokens',
    'input is too long',
    'too many input tokens',
    'too many tokens:',
    'too large for model',
  ].join('|'),
  'i',
);

/**
 * Policy-refusal messages:
 * - OpenAI: "Your request was rejected as a result of our safety system."
 * - Azure OpenAI: "The response was filtered due to the prompt triggering Azure OpenAI's content management
 *   policy."
 * - Anthropic: "Output blocked by content filtering policy".
 * - Gemini: a prompt blocked with reason SAFETY / PROHIBITED_CONTENT (upper case: the enum, not prose).
 * - Bedrock: "... blocked by guardrail" / guardrail intervened.
 */
const contentPolicyMessage =
  /safety system|content management policy|content filtering policy|content policy|guardrail (?:intervened|blocked)|blocked by (?:the )?guardrail/i;
const contentPolicyEnum = /\b(?:SAFETY|PROHIBITED_CONTENT|BLOCKLIST|SPII)\b/;

export function classifyFailure(error: GatewayError): FailureClass {
  return classifyKind(error.kind, error);
}

function classifyKind(kind: ErrorKind, error: GatewayError): FailureClass {
  switch (kind) {
    case 'upstream_rate_limited':
      return 'rate_limited';
    // no_available_target: every target of the model resting is the model overloaded as far as routing
    // can tell; its fallbacks may still answer.
    case 'upstream_overloaded':
    case 'no_available_target':
      return 'overloaded';
    case 'upstream_error':
      return 'server';
    case 'upstream_timeout':
      return 'timeout';
    case 'upstream_unreachable':
      return 'connection';
    case 'upstream_stream_interrupted':
      return 'stream';
    case 'upstream_auth_failed':
      return 'auth';
    case 'upstream_bad_request':
      return classifyBadRequest(error);
    case 'client_closed':
    case 'shutting_down':
      // Nobody is waiting for the answer, or this replica is going away: stop, try nothing else.
      return 'cancelled';
    case 'invalid_json':
    case 'invalid_request':
    case 'unauthorized':
    case 'route_not_found':
    case 'model_not_found':
    case 'method_not_allowed':
    case 'request_timeout':
    case 'payload_too_large':
    case 'unsupported_media_type':
    case 'unsupported_feature':
    case 'rate_limited':
    case 'overloaded':
    case 'exceeds_limit':
    case 'budget_exceeded':
    case 'idempotency_mismatch':
    case 'idempotency_in_progress':
    case 'state_unavailable':
    case 'internal':
      // The request or the gateway itself is at fault; another target would fail the same way. `internal`
      // included: re-running a gateway bug on more targets only multiplies it.
      return 'client';
  }
}

function classifyBadRequest(error: GatewayError): FailureClass {
  const code = error.upstream?.code?.toLowerCase();
  if (code !== undefined) {
    if (contextWindowCodes.has(code)) return 'context_window';
    if (contentPolicyCodes.has(code)) return 'content_policy';
  }
  const message = error.message;
  if (contextWindowMessage.test(message)) return 'context_window';
  if (contentPolicyMessage.test(message) || contentPolicyEnum.test(message)) return 'content_policy';
  return 'client';
}

/**
 * Whether the same request may go to a target again (this one after a backoff, or another of the model):
 * failures of the moment, not of the request.
 */
export function isRetryable(cls: FailureClass): boolean {
  switch (cls) {
    case 'rate_limited':
    case 'overloaded':
    case 'server':
    case 'timeout':
    case 'connection':
    case 'stream':
      return true;
    default:
      return false;
  }
}

/**
 * Whether the model's other targets are worth an attempt: every retryable failure, and `auth`. A key the
 * provider rejects will be rejected again (never retried on that target), but it says nothing of the
 * model's targets on other keys or providers: one bad key must not fail a model that has others.
 */
export function triesOtherTargets(cls: FailureClass): boolean {
  return cls === 'auth' || isRetryable(cls);
}

/**
 * Which fallback list of the model the failure takes. `auth` takes `fallbacks` for the same reason it
 * tries other targets: the fallback models live on other keys. Client errors and cancellations take none.
 */
export function takesFallback(
  cls: FailureClass,
): 'fallbacks' | 'context_fallbacks' | 'policy_fallbacks' | undefined {
  switch (cls) {
    case 'context_window':
      return 'context_fallbacks';
    case 'content_policy':
      return 'policy_fallbacks';
    case 'client':
    case 'cancelled':
      return undefined;
    default:
      return 'fallbacks';
  }
}
