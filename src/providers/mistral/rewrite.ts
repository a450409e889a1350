/**
 * The canonical (OpenAI-shaped) request as Mistral's chat-completions API accepts it. Mistral's schema is
 * OpenAI's with other names for a few fields, and it rejects fields it does not know with a 422
 * (`extra_forbidden`) instead of ignoring them, so what differs is renamed, what only OpenAI tracks is
 * removed, and what Mistral cannot do is refused with a 400 naming the feature.
 * Reference: https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post
 */
import { unsupported } from '../../canonical/chat-request.js';
import { isObject, type Json } from '../../canonical/json.js';

const present = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * OpenAI request fields with no Mistral equivalent that change the answer: refused. A value that means
 * "off" (`logprobs: false`, an empty `logit_bias`) changes nothing and passes (it is removed).
 */
const refusedWhenSet = [
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'audio',
  'modalities',
  'reasoning_effort',
  'thinking',
  'top_k',
  'web_search_options',
] as const;

/**
 * Fields that only concern OpenAI's own bookkeeping (abuse tracking, stored completions, tiers): removed
 * rather than refused, since dropping them does not change the answer. `stream_options` goes too: Mistral
 * puts `usage` on the last chunk of every stream, asked or not.
 */
const removed = ['user', 'stream_options', 'store', 'metadata', 'service_tier', 'safety_identifier'];

const dropped: readonly string[] = [...refusedWhenSet, ...removed];

/** Assistant-message fields OpenAI returns and clients echo back, which Mistral's schema lacks. */
const assistantEchoFields = ['refusal', 'annotations', 'audio', 'reasoning_content', 'thinking_blocks'];

function isOff(field: string, value: unknown): boolean {
  if (!present(value) || value === false) return true;
  if (field === 'modalities') return Array.isArray(value) && value.every((m) => m === 'text');
  if (field === 'logit_bias') return isObject(value) && Object.keys(value).length === 0;
  if (field === 'thinking') return isObject(value) && value['type'] === 'disabled';
  return false;
}

function cleanMessages(messages: unknown[]): unknown[] | undefined {
  let out: unknown[] | undefined;
  messages.forEach((message, i) => {
    if (!isObject(message) || message['role'] !== 'assistant') return;
    if (!assistantEchoFields.some((field) => field in message)) return;
    const copy = { ...message };
    for (const field of assistantEchoFields) delete copy[field];
    out ??= messages.slice();
    out[i] = copy;
  });
  return out;
}

/** A chat body for Mistral. Never mutates `body`; returns it unchanged when nothing differs. */
export function toMistralChat(body: Json, provider: string): Json {
  for (const field of refusedWhenSet) {
    if (!isOff(field, body[field])) throw unsupported(`"${field}"`, provider, field);
  }
  let out: Json | undefined;
  const edit = (): Json => (out ??= { ...body });
  for (const field of dropped) if (field in body) delete edit()[field];
  if (present(body['seed'])) {
    const copy = edit();
    copy['random_seed'] ??= body['seed'];
    delete copy['seed'];
  } else if ('seed' in body) delete edit()['seed'];
  if (present(body['max_completion_tokens'])) {
    const copy = edit();
    copy['max_tokens'] ??= body['max_completion_tokens'];
    delete copy['max_completion_tokens'];
  } else if ('max_completion_tokens' in body) delete edit()['max_completion_tokens'];
  // Mistral's "must call a tool" is "any"; its enum gained "required" later, "any" works on every model.
  if (body['tool_choice'] === 'required') edit()['tool_choice'] = 'any';
  if (Array.isArray(body['messages'])) {
    const messages = cleanMessages(body['messages']);
    if (messages !== undefined) edit()['messages'] = messages;
  }
  return out ?? body;
}

/** An embeddings body for Mistral: OpenAI's `dimensions` is Mistral's `output_dimension`. */
export function toMistralEmbeddings(body: Json, provider: string): Json {
  const input = body['input'];
  if (Array.isArray(input) && input.some((item) => typeof item !== 'string')) {
    throw unsupported('token-id embedding input', provider, 'input');
  }
  if (!('dimensions' in body) && !('user' in body)) return body;
  const out = { ...body };
  if (present(body['dimensions'])) out['output_dimension'] = body['dimensions'];
  delete out['dimensions'];
  delete out['user'];
  return out;
}
