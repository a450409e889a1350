/**
 * The RequestContext that every stage reads and writes. A class with every field declared up front so V8
 * keeps one object shape for all requests. docs/architecture.md lists which stage sets which field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Usage } from '../canonical/usage.js';
import { Cancellation } from '../http/cancellation.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { VirtualKey } from '../auth/virtual-keys.js';
import type { ChatFormat, ParsedChatRequest } from '../formats/chat-format.js';
import type { ParsedEmbeddingsRequest } from '../formats/openai-embeddings/parse-request.js';
import type { ChatOutcome, EmbeddingsOutcome } from '../providers/provider.js';
import type { ModelRoute, Target } from '../routing/catalog.js';

export type RouteName = 'chat' | 'messages' | 'embeddings';

export class RequestContext {
  /** The gateway instance that owns the request: event subscribers of one instance ignore the others'. */
  readonly owner: object;
  readonly id: string;
  readonly route: RouteName;
  /** The inbound chat format of the route (undefined for embeddings, which is OpenAI-only). */
  readonly format: ChatFormat | undefined;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Aborts when the client goes away before the answer is complete. */
  readonly clientGone = new Cancellation();

  /** observe (tracing): W3C trace id, 32 hex digits, from the client's traceparent or new. */
  traceId = '';
  /** observe (tracing): the gateway's server span id, 16 hex digits. */
  spanId = '';
  /** observe (tracing): whether this request's trace is sampled (recorded and exported). */
  traceSampled = false;
  /** observe (tracing): the client's span id from its traceparent; '' when the trace starts here. */
  parentSpanId = '';
  /** observe (tracing): the client's tracestate, passed on upstream with the traceparent. */
  traceState: string | undefined = undefined;
  /** authenticate */
  key: VirtualKey | undefined = undefined;
  /** authenticate: performance.now() when the key was resolved (Server-Timing `auth`, the auth span). */
  authenticatedAt: number | undefined = undefined;
  /** admit + charge: milliseconds spent deciding limits and budgets (Server-Timing `admission`). */
  admissionMs = 0;
  /** attempt-upstream: milliseconds waited for targets' concurrency slots (Server-Timing `queue`). */
  queueMs = 0;
  /** read-body */
  json: unknown = undefined;
  /** parse-request */
  chat: ParsedChatRequest | undefined = undefined;
  embeddings: ParsedEmbeddingsRequest | undefined = undefined;
  requestedModel: string | undefined = undefined;
  /** route */
  model: ModelRoute | undefined = undefined;
  /** The request's class: the key's, or lower if the client asked (`x-sluice-priority`). */
  priority: 'interactive' | 'batch' = 'interactive';
  /** performance.now() by which the client wants its answer (`x-sluice-timeout-ms`), if it said. */
  deadlineAt: number | undefined = undefined;
  /** read-body: the request body as received (no copy), for the idempotency fingerprint. */
  bodyBytes: Buffer | undefined = undefined;
  /** request-tokens: prompt and maximum output, once something needed them (limits, budgets). */
  tokens: RequestTokens | undefined = undefined;
  /** attempt-upstream: the target that answered (or the last one tried) */
  target: Target | undefined = undefined;
  /** attempt-upstream: what routing did when it was more than one plain attempt (x-sluice-route). */
  routeLog: string[] | undefined = undefined;
  /** call-upstream */
  attempts = 0;
  outcome: ChatOutcome | EmbeddingsOutcome | undefined = undefined;
  upstreamStartedAt: number | undefined = undefined;
  firstTokenAt: number | undefined = undefined;
  /** call-upstream: performance.now() when the answer's head arrived upstream (Server-Timing `upstream`). */
  upstreamFirstByteAt: number | undefined = undefined;
  /** charge: the request's cost in USD as charged to its budgets (undefined without budgets). */
  costUsd: number | undefined = undefined;
  /** respond */
  status = 0;
  usage: Usage | undefined = undefined;
  error: GatewayError | undefined = undefined;
  endedAt: number | undefined = undefined;

  constructor(
    owner: object,
    id: string,
    route: RouteName,
    format: ChatFormat | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    startedAt: number,
  ) {
    this.owner = owner;
    this.id = id;
    this.route = route;
    this.format = format;
    this.req = req;
    this.res = res;
    this.startedAt = startedAt;
  }
}

export interface RequestTokens {
  /** Prompt tokens, o200k. */
  input: number;
  /** The most the answer may have (0 for embeddings). */
  output: number;
}

export type Next = () => Promise<void>;
export type Stage = (ctx: RequestContext, next: Next) => Promise<void>;
