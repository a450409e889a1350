/**
 * `bedrock` provider: AWS Bedrock Runtime's Converse and ConverseStream APIs
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html), which speak one
 * request shape for every model family on Bedrock. The target's `model` is the model id (or an inference
 * profile id or ARN), which goes in the URL path.
 *
 * Region: `region`, else the one in base_url's host (bedrock-runtime.REGION.amazonaws.com), else AWS_REGION,
 * else us-east-1. Credentials: see signing.ts.
 */
import type { ChatRequestBody } from '../../canonical/chat.js';
import type { EmbeddingsRequestBody } from '../../canonical/embeddings.js';
import type { ProviderConfig } from '../../config/schema.js';
import { AttemptDeadline } from '../http/attempt-deadline.js';
import { openTranslatedStream } from '../http/translated-stream.js';
import { UpstreamHttp, type UpstreamRequest } from '../http/upstream-http.js';
import type { ChatOutcome, EmbeddingsOutcome, ProviderAdapter, UpstreamCall } from '../provider.js';
import { titanEmbeddings } from './embeddings.js';
import { remapBedrockError, readBedrockError } from './errors.js';
import { converseStreamDecoder } from './event-stream.js';
import { toConverseRequest } from './request.js';
import { chatResponseFromConverse } from './response.js';
import { createAuthorizer, resolveCredentials, type RequestAuthorizer } from './signing.js';

const regionInHost = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function regionOf(
  config: ProviderConfig,
  env: Record<string, string | undefined> = process.env,
): string {
  if (config.region !== undefined && config.region !== '') return config.region;
  if (config.base_url !== undefined) {
    const match = regionInHost.exec(new URL(config.base_url).hostname);
    if (match !== null) return match[1] as string;
  }
  return env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1';
}

/**
 * A path label encoded as the AWS SDK encodes it (encodeURIComponent plus !'()*): a model id's ':' and an
 * ARN's '/' are escaped, and the signer then encodes the path once more for the canonical request.
 */
export function encodeLabel(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Sends signed requests to one Bedrock endpoint; shared by chat and embeddings. */
export class BedrockClient {
  readonly http: UpstreamHttp;
  private readonly authorize: RequestAuthorizer;
  private readonly headers: Record<string, string>;

  constructor(readonly config: ProviderConfig) {
    const region = regionOf(config);
    const baseUrl = config.base_url ?? `https://bedrock-runtime.${region}.amazonaws.com`;
    this.http = new UpstreamHttp(config, baseUrl, readBedrockError);
    this.authorize = createAuthorizer(resolveCredentials(config), region, config.name);
    this.headers = { host: new URL(baseUrl).host, 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(config.headers ?? {}))
      this.headers[name.toLowerCase()] = value;
  }

  /** The request for POST /model/{modelId}/{operation}, signed (the signature covers path and body). */
  async request(modelId: string, operation: string, body: string, accept: string): Promise<UpstreamRequest> {
    const path = `/model/${encodeLabel(modelId)}/${operation}`;
    const headers = await this.authorize({
      path: this.http.basePath + path,
      headers: { ...this.headers, accept },
      body,
    });
    return { path, headers, body };
  }

  async send(request: UpstreamRequest, call: UpstreamCall<unknown>, deadline: AttemptDeadline) {
    try {
      return await this.http.sendOk(request, call, deadline);
    } catch (error) {
      throw remapBedrockError(error);
    }
  }
}

const requestIdOf = (headers: Record<string, string | string[] | undefined>, fallback: string): string => {
  const id = headers['x-amzn-requestid'];
  return typeof id === 'string' && id !== '' ? id : fallback;
};

export function createBedrockAdapter(config: ProviderConfig): ProviderAdapter {
  const client = new BedrockClient(config);
  const name = config.name;
  return {
    name,
    kind: config.kind,

    async chat(call: UpstreamCall<ChatRequestBody>): Promise<ChatOutcome> {
      // Translation and signing come first: a refused request never opens an attempt or a connection.
      const body = JSON.stringify(toConverseRequest(call.body, name, call.model));
      const request = call.stream
        ? await client.request(call.model, 'converse-stream', body, 'application/vnd.amazon.eventstream')
        : await client.request(call.model, 'converse', body, 'application/json');
      const deadline = new AttemptDeadline(call.cancel, call.timeouts, call.stream);
      const response = await client.send(request, call, deadline);
      const id = requestIdOf(response.headers, call.requestId);
      if (call.stream) {
        return openTranslatedStream(
          response,
          deadline,
          call,
          name,
          converseStreamDecoder(id, call.model, name),
        );
      }
      deadline.firstToken();
      const parsed = await client.http.readJson(response, deadline);
      call.onFirstToken();
      return { kind: 'response', response: chatResponseFromConverse(parsed, id, call.model, name) };
    },

    embeddings(call: UpstreamCall<EmbeddingsRequestBody>): Promise<EmbeddingsOutcome> {
      return titanEmbeddings(client, call);
    },

    async close(): Promise<void> {
      await client.http.close();
    },
  };
}
