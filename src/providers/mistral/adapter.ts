/**
 * `mistral` provider: Mistral's La Plateforme API (https://api.mistral.ai/v1), OpenAI's wire format with
 * other names for a few request fields (rewrite.ts) and two answer quirks (answer.ts). With an OpenAI client
 * the answer still passes through as bytes, rewritten only where Mistral's vocabulary is not OpenAI's; with
 * another inbound format it is translated into canonical parts as for OpenAI.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import type { ProviderConfig } from '../../config/schema.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { openTranslatedStream, type StreamDecoder } from '../http/translated-stream.js';
import type { ErrorBodyReader } from '../http/upstream-errors.js';
import { readOpenAIError } from '../http/upstream-errors.js';
import { UpstreamHttp } from '../http/upstream-http.js';
import { createOpenAIWireAdapter } from '../openai/adapter.js';
import { chatResponseFromOpenAI, openAIStreamDecoder } from '../openai/translate.js';
import type {
  ByteSink,
  ChatOutcome,
  EmbeddingsOutcome,
  ProviderAdapter,
  RawStream,
  UpstreamCall,
} from '../provider.js';
import { FinishReasonRewriter, normaliseMistralAnswer } from './answer.js';
import { toMistralChat, toMistralEmbeddings } from './rewrite.js';

const defaultBaseUrl = 'https://api.mistral.ai/v1';

/**
 * Mistral's errors come in three shapes: OpenAI's envelope on some routes, a top-level
 * `{"object":"error","message":"..","type":..}` on most, and for schema violations (422) a `message` that is
 * `{"detail":[{"loc":[..],"msg":".."}]}` (FastAPI's).
 */
export const readMistralError: ErrorBodyReader = (body) => {
  const openAI = readOpenAIError(body);
  if (openAI.message !== undefined) return openAI;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown; detail?: unknown } | null;
    const message = parsed?.message;
    if (typeof message === 'string' && message !== '') return { message };
    const detail =
      message !== null && typeof message === 'object'
        ? (message as { detail?: unknown }).detail
        : parsed?.detail;
    if (Array.isArray(detail) && detail.length > 0) {
      const first = detail[0] as { loc?: unknown; msg?: unknown };
      const loc = Array.isArray(first.loc) ? first.loc.filter((p) => p !== 'body').join('.') : undefined;
      const msg = typeof first.msg === 'string' ? first.msg : 'invalid request';
      return { message: loc === undefined || loc === '' ? msg : `${loc}: ${msg}`, param: loc || undefined };
    }
  } catch {
    // Not JSON: the status alone speaks.
  }
  return {};
};

/** Canonical parts from Mistral's SSE: OpenAI's decoder, fed bytes with `model_length` already renamed. */
function mistralStreamDecoder(provider: string): StreamDecoder {
  const inner = openAIStreamDecoder(provider);
  const rewriter = new FinishReasonRewriter();
  return {
    push: (chunk) => inner.push(rewriter.push(chunk)),
    end() {
      const rest = rewriter.flush();
      const parts = rest.length > 0 ? inner.push(rest) : [];
      return [...parts, ...inner.end()];
    },
  };
}

/** A pass-through stream whose bytes go through the rewriter on their way to the client. */
function rewritingStream(stream: RawStream): RawStream {
  return {
    ...stream,
    async pipeTo(sink: ByteSink): Promise<void> {
      const rewriter = new FinishReasonRewriter();
      await stream.pipeTo({
        write: (chunk) => {
          const out = rewriter.push(chunk);
          return out.length === 0 ? true : sink.write(out);
        },
        onDrain: (resume) => sink.onDrain(resume),
      });
      const rest = rewriter.flush();
      if (rest.length > 0) sink.write(rest);
    },
  };
}

export function createMistralAdapter(config: ProviderConfig): ProviderAdapter {
  const http = new UpstreamHttp(config, config.base_url ?? defaultBaseUrl, readMistralError);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
  if (config.api_key !== undefined && config.api_key !== '')
    headers['authorization'] = `Bearer ${config.api_key}`;
  const headerList = Object.entries(headers).flat();
  // Bodies are rewritten here, before the wire adapter opens the attempt: a refusal thrown from its
  // `rewrite` hook would come after the attempt's deadline timers started, and leave them running.
  const wire = createOpenAIWireAdapter(config, http, (path) => path, headerList);

  /** Another inbound format: the canonical body out, canonical parts back, Mistral's quirks normalised. */
  async function translated(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
    const canonical = call.body.model === call.model ? call.body : { ...call.body, model: call.model };
    // toMistralChat also refuses `thinking` and `top_k` and drops reasoning blocks of earlier turns, which
    // is all toOpenAIWire would do here.
    const body = toMistralChat(canonical, config.name);
    const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
    const payload = {
      path: '/chat/completions',
      headers: [...headerList, 'x-request-id', call.requestId],
      body: JSON.stringify(body),
    };
    if (call.stream) {
      const response = await http.sendOk(payload, call, deadline);
      return openTranslatedStream(response, deadline, call, config.name, mistralStreamDecoder(config.name));
    }
    const answer = normaliseMistralAnswer((await http.fetchWhole(payload, call, deadline)).body);
    call.onFirstToken();
    return { kind: 'response', response: chatResponseFromOpenAI(answer, config.name) };
  }

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      if (call.inboundFormat !== 'openai') return translated(call);
      const body = toMistralChat(call.body, config.name);
      const outcome = await wire.chat(body === call.body ? call : { ...call, body: body as ChatRequestBody });
      if (outcome.kind === 'raw') return { ...outcome, body: normaliseMistralAnswer(outcome.body) };
      if (outcome.kind === 'raw-stream') return rewritingStream(outcome);
      return outcome;
    },

    embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      const body = toMistralEmbeddings(call.body, config.name);
      return wire.embeddings(body === call.body ? call : { ...call, body: body as EmbeddingsRequestBody });
    },
    close: () => wire.close(),
  };
}
