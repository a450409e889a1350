/**
 * `openai` and `openai-compatible` providers: any upstream that speaks OpenAI's chat-completions and
 * embeddings wire format (OpenAI, vLLM, Ollama, Groq, Together, Mistral, DeepSeek, OpenRouter, xAI, ...).
 *
 * The inbound format is OpenAI too, so answers pass through as bytes: the body is never re-serialised
 * and SSE chunks are written to the client as they arrive. One undici Pool per provider keeps
 * connections alive across requests.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import { usageFromOpenAIText, type Usage } from '../../canonical/usage.js';
import type { ProviderConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { transportError } from '../http/transport-errors.js';
import type {
  ByteSink,
  ChatOutcome,
  EmbeddingsOutcome,
  ProviderAdapter,
  RawResponse,
  UpstreamCall,
} from '../provider.js';
import { OpenAISseTap } from './sse-tap.js';
import { upstreamHttpError } from './upstream-errors.js';

const defaultBaseUrl = 'https://api.openai.com/v1';
const usageMarker = Buffer.from('"usage":{');
// An upstream error body is read for its message only; a larger one is cut rather than buffered whole.
const maxErrorBodyBytes = 64 * 1024;

export function createOpenAIAdapter(config: ProviderConfig): ProviderAdapter {
  const base = new URL(config.base_url ?? defaultBaseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: config.max_connections,
    connect: { timeout: config.timeouts.connect_ms },
    // Upstreams commonly close idle sockets after ~5 s; undici's default of 4 s stays under that.
    keepAliveTimeout: 4_000,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', ...config.headers };
  if (config.api_key !== undefined && config.api_key !== '')
    headers['authorization'] = `Bearer ${config.api_key}`;
  // A flat [name, value, ...] list: undici takes it as is, without walking and lower-casing an object.
  const headerList = Object.entries(headers).flat();

  async function send(
    path: string,
    payload: string,
    call: UpstreamCall<unknown>,
    deadline: AttemptDeadline,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await pool.request({
        path: basePath + path,
        method: 'POST',
        headers: [...headerList, 'x-request-id', call.requestId],
        body: payload,
        signal: deadline,
        // Non-stream answers arrive whole after generation, so only total_ms (the deadline) bounds them.
        headersTimeout: call.stream ? call.timeouts.ttft_ms : call.timeouts.total_ms,
        bodyTimeout: call.timeouts.idle_ms,
      });
    } catch (error) {
      deadline.release();
      throw transportError(error, deadline.reason, config.name);
    }
  }

  async function failIfError(response: Dispatcher.ResponseData, deadline: AttemptDeadline): Promise<void> {
    if (response.statusCode < 400) return;
    const body = await readCapped(response, maxErrorBodyBytes).catch(() => Buffer.alloc(0));
    deadline.release();
    throw upstreamHttpError(config.name, response.statusCode, response.headers, body);
  }

  async function whole(response: Dispatcher.ResponseData, deadline: AttemptDeadline): Promise<RawResponse> {
    try {
      const body = Buffer.from(await response.body.arrayBuffer());
      return {
        kind: 'raw',
        status: response.statusCode,
        contentType: 'application/json',
        body,
        usage: usageOfBody(body),
      };
    } catch (error) {
      throw transportError(error, deadline.reason, config.name);
    } finally {
      deadline.release();
    }
  }

  return {
    name: config.name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
      const body = call.body.model === call.model ? call.body : { ...call.body, model: call.model };
      const response = await send('/chat/completions', JSON.stringify(body), call, deadline);
      await failIfError(response, deadline);
      if (!call.stream) {
        deadline.firstToken();
        const raw = await whole(response, deadline);
        call.onFirstToken();
        return raw;
      }
      return openStream(response, deadline, call, config.name);
    },

    async embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, false);
      const body = call.body.model === call.model ? call.body : { ...call.body, model: call.model };
      const response = await send('/embeddings', JSON.stringify(body), call, deadline);
      await failIfError(response, deadline);
      return whole(response, deadline);
    },

    async close(): Promise<void> {
      await pool.close();
    },
  };
}

/**
 * Waits for the first body chunk before resolving, so an upstream that fails before sending anything is
 * still an error the pipeline can map (or, later, fail over) rather than a broken stream.
 */
async function openStream(
  response: Dispatcher.ResponseData,
  deadline: AttemptDeadline,
  call: UpstreamCall<ChatRequestBody>,
  providerName: string,
): Promise<ChatOutcome> {
  const body = response.body;
  const tap = new OpenAISseTap();
  const see = (chunk: Buffer): void => {
    deadline.chunk();
    if (tap.observe(chunk)) {
      deadline.firstToken();
      call.onFirstToken();
    }
  };
  const fail = (error: unknown): GatewayError => {
    const mapped = transportError(error, deadline.reason, providerName);
    if (mapped.kind !== 'upstream_unreachable') return mapped;
    return new GatewayError('upstream_stream_interrupted', `provider ${providerName} cut the stream`, {
      cause: error,
    });
  };

  const first = await new Promise<Buffer | null>((resolve, reject) => {
    const cleanup = (): void => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onReadable = (): void => {
      const chunk = body.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
  }).catch((error: unknown) => {
    deadline.release();
    throw transportError(error, deadline.reason, providerName);
  });
  if (first === null) {
    deadline.release();
    throw new GatewayError('upstream_error', `provider ${providerName} closed the stream without data`);
  }
  see(first);

  function pipeTo(sink: ByteSink): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const resume = (): void => {
        body.resume();
      };
      let settled = false;
      const finish = (error?: GatewayError): void => {
        if (settled) return;
        settled = true;
        body.off('data', onData);
        body.off('end', onEnd);
        body.off('error', onError);
        body.off('close', onClose);
        deadline.release();
        if (error === undefined) return resolve();
        // Leaving early must end the upstream request, not drain it.
        if (!body.destroyed) body.destroy();
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        see(chunk);
        if (!sink.write(chunk)) {
          body.pause();
          sink.onDrain(resume);
        }
      };
      const onEnd = (): void => {
        finish(
          tap.done
            ? undefined
            : new GatewayError(
                'upstream_stream_interrupted',
                `provider ${providerName} ended the stream early`,
              ),
        );
      };
      const onError = (error: Error): void => finish(fail(error));
      // A body destroyed without an error event (the socket went away between two reads) ends here.
      const onClose = (): void => finish(fail(body.errored ?? new Error('upstream body closed')));
      if (body.errored !== null) return finish(fail(body.errored));
      if (!sink.write(first as Buffer)) {
        body.pause();
        sink.onDrain(resume);
      }
      // The whole stream may have come with the first read, and 'end' gone out before we listened.
      if (body.readableEnded) return onEnd();
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', onError);
      body.once('close', onClose);
    });
  }

  return {
    kind: 'raw-stream',
    contentType: 'text/event-stream; charset=utf-8',
    pipeTo,
    usage: () => tap.usage,
  };
}

/**
 * Reads `usage` off a JSON answer without parsing the whole body: OpenAI puts it after `choices`, so it is
 * found from the end. Inside JSON strings quotes are escaped, so an unescaped `"usage":{` is a real key.
 */
export function usageOfBody(body: Buffer): Usage | undefined {
  const at = body.lastIndexOf(usageMarker);
  if (at === -1) return undefined;
  const start = at + usageMarker.length - 1;
  let depth = 0;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return usageFromOpenAIText(body.toString('latin1', start, i + 1));
  }
  return undefined;
}

async function readCapped(response: Dispatcher.ResponseData, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      response.body.destroy();
      break;
    }
  }
  return Buffer.concat(parts);
}
