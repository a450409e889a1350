/**
 * Builds the gateway from a validated config: providers, the model catalog, virtual keys, the stage
 * pipeline of each route, and the observability subscribers. `handle` is the node:http request listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream, Logger } from 'pino';
import { AccountSync } from './accounts/account-sync.js';
import type { AccountChanges, AccountStore } from './accounts/account-store.js';
import { createAdmin } from './admin/router.js';
import { Directory } from './auth/directory.js';
import { registerBudgetGauges } from './observability/budget-gauges.js';
import type { Config, Timeouts } from './config/schema.js';
import { GatewayError } from './errors/gateway-error.js';
import { anthropicMessagesFormat } from './formats/anthropic-messages/format.js';
import type { ChatFormat } from './formats/chat-format.js';
import { openAIChatFormat } from './formats/openai-chat/format.js';
import { openAIErrorBody } from './formats/openai-error.js';
import { subscribeAccessLog } from './observability/access-log.js';
import { createLogger, flushLogsSync, requestIds } from './observability/logger.js';
import { createMetrics, type GatewayMetrics } from './observability/metrics.js';
import { serveMetrics } from './observability/metrics-endpoint.js';
import { startTracing } from './observability/tracing/index.js';
import { authenticate } from './pipeline/authenticate.js';
import { hasQuotas } from './admission/create-limiter.js';
import type { Limiter } from './admission/limits/limiter.js';
import { admit } from './pipeline/admit.js';
import { charge } from './pipeline/charge.js';
import { digestOf } from './auth/virtual-keys.js';
import type { IdempotencyStore } from './idempotency/idempotency-store.js';
import { MemoryIdempotencyStore } from './idempotency/memory-idempotency.js';
import type { Ledger } from './ledger/index.js';
import { idempotency } from './pipeline/idempotency.js';
import type { BudgetStore } from './spend/budgets/budget-store.js';
import { subscribeLedger } from './spend/ledger-recorder.js';
import { PriceBook } from './spend/price-book.js';
import { attemptUpstream } from './pipeline/attempt-upstream.js';
import { compose } from './pipeline/compose.js';
import { RequestContext, type RouteName } from './pipeline/context.js';
import { handleErrors, writeError } from './pipeline/handle-errors.js';
import { observe } from './pipeline/observe.js';
import { parseRequest } from './pipeline/parse-request.js';
import { readBody } from './pipeline/read-body.js';
import { respond } from './pipeline/respond.js';
import { route } from './pipeline/route.js';
import type { ProviderAdapter } from './providers/provider.js';
import { Catalog } from './routing/catalog.js';
import { Router } from './routing/router.js';
import type { CooldownStore } from './state/cooldowns.js';
import { MemoryCooldownStore } from './state/memory-cooldowns.js';
import { listModels } from './http/models-endpoint.js';
import { newRequestId } from './http/request-id.js';

export interface GatewayOptions {
  /** Where logs go (default stdout). Tests pass a sink. */
  logDestination?: DestinationStream;
  /** Shared cooldowns (the state backend's); default: in process. The gateway closes it. */
  cooldowns?: CooldownStore;
}

/** What startServer prepares before the gateway is built (both load modules on demand). */
export interface GatewayParts {
  /** Every configured provider's adapter, by provider name (providers/registry.ts createProviders). */
  adapters: ReadonlyMap<string, ProviderAdapter>;
  /** The limiter of keys' and teams' limits; absent when none has limits (the stage is then left out). */
  limiter?: Limiter | undefined;
  /** Budgets of keys, teams and end-users; absent when none has a budget (the stage is then left out). */
  budgets?: BudgetStore | undefined;
  /** The spend ledger (database.url); absent with `none`. The gateway closes it. */
  ledger?: Ledger | undefined;
  /** Stored answers of Idempotency-Key requests; default: in process. The gateway closes it. */
  idempotency?: IdempotencyStore | undefined;
  /** Keys and teams of the admin API (accounts/); absent without admin key or database. Closed by the gateway. */
  accounts?: AccountStore | undefined;
  /** Everything the account store held at start, read before the gateway serves. */
  initialAccounts?: AccountChanges | undefined;
}

export interface Gateway {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests being processed right now. */
  readonly inFlight: () => number;
  /** From now on, new requests get 503 and /readyz fails; in-flight ones continue. */
  drain(): void;
  close(): Promise<void>;
}

/** POST routes: path → route name and the inbound format that reads and answers it. */
const postRoutes = new Map<string, { route: RouteName; format: ChatFormat | undefined }>([
  ['/v1/chat/completions', { route: 'chat', format: openAIChatFormat }],
  ['/chat/completions', { route: 'chat', format: openAIChatFormat }],
  ['/v1/messages', { route: 'messages', format: anthropicMessagesFormat }],
  ['/v1/embeddings', { route: 'embeddings', format: undefined }],
  ['/embeddings', { route: 'embeddings', format: undefined }],
]);

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

export function createGateway(config: Config, parts: GatewayParts, options: GatewayOptions = {}): Gateway {
  const owner = {};
  const logger = createLogger(config.logging.level, options.logDestination);
  const unsubscribeAccessLog = config.logging.access_log ? subscribeAccessLog(owner, logger) : () => {};
  const tracing = startTracing(owner, config, logger, process.env);
  // Log lines are buffered (see observability/logger.ts): flush at least once a second when traffic is low.
  const flushTimer = setInterval(() => logger.flush(), 1_000).unref();

  const adapters = new Map<string, { adapter: ProviderAdapter; timeouts: Timeouts }>();
  for (const p of config.providers)
    adapters.set(p.name, { adapter: parts.adapters.get(p.name) as ProviderAdapter, timeouts: p.timeouts });
  const catalog = new Catalog(
    config.models,
    adapters,
    Math.floor(Date.now() / 1000),
    config.routing,
    config.admission,
    // With Redis, targets' limits are shared by the replicas too; in one process routing keeps them.
    config.state.backend === 'redis' ? parts.limiter : undefined,
  );
  const cooldowns = options.cooldowns ?? new MemoryCooldownStore();
  const router = new Router(config.routing, cooldowns);
  const prices = new PriceBook(config.models);
  const metrics = createMetrics(
    owner,
    () => catalog.targets(),
    parts.limiter?.health,
    prices,
    parts.ledger?.writer,
  );
  const health = parts.limiter?.health;
  if (health !== undefined) {
    // The shared state's outages, once each way (failover-limiter.ts).
    health.onStateChange = (change) => {
      if (change.degraded) {
        logger.warn(
          { err: change.error, replicas: health.replicas, on_error: config.state.on_error },
          config.state.on_error === 'open'
            ? 'state backend unreachable: limits are per replica (each divided by the replica count) until it is back'
            : 'state backend unreachable: requests with limits are refused (state.on_error: closed) until it is back',
        );
      } else {
        logger.info('state backend reachable again: limits are shared again');
      }
    };
    if (health.degraded) logger.warn({ replicas: health.replicas }, 'state backend unreachable at start');
  }
  if (parts.budgets !== undefined && prices.unpriced.length > 0) {
    logger.warn(
      { targets: prices.unpriced },
      'no price known for some targets: their answers cost nothing to budgets (set models[].price)',
    );
  }
  const idempotencyStore = parts.idempotency ?? new MemoryIdempotencyStore();
  const unsubscribeLedger =
    parts.ledger === undefined ? () => {} : subscribeLedger(owner, parts.ledger.writer, prices, logger);
  const adminKey = config.server.admin_key;
  // With the admin API, keys and teams change while the gateway runs: the stages read them from here.
  // The admin API can give any key limits or a budget later: the stages are then always in place (a
  // request without limits or budget passes them with one lookup).
  const managed = parts.accounts !== undefined;
  const directory = new Directory(config, managed);
  const sync =
    parts.accounts === undefined
      ? undefined
      : new AccountSync(parts.accounts, directory, config.database.sync_interval_ms, logger);
  if (sync !== undefined) {
    if (parts.initialAccounts !== undefined) sync.apply(parts.initialAccounts);
    sync.start();
  }
  if (directory.open)
    logger.warn('no virtual keys configured: the gateway accepts requests without an API key');
  const admin =
    adminKey === undefined
      ? undefined
      : createAdmin({
          adminDigest: Buffer.from(digestOf(adminKey), 'base64'),
          directory,
          accounts: parts.accounts,
          ledger: parts.ledger?.store,
          modelNames: new Set(config.models.map((m) => m.name)),
          logger,
        });
  if (parts.budgets !== undefined) registerBudgetGauges(metrics.registry, directory, parts.budgets);

  const stages = [
    observe,
    handleErrors,
    authenticate(directory),
    readBody(config.server.max_body_bytes, config.server.request_timeout_ms),
    idempotency(idempotencyStore, {
      ttlMs: config.idempotency.ttl_ms,
      waitMs: config.idempotency.wait_ms,
      failOpen: config.state.on_error === 'open',
    }),
    parseRequest,
    route(catalog),
    ...(parts.limiter === undefined || !(hasQuotas(config) || managed)
      ? []
      : [admit(parts.limiter, config, directory)]),
    ...(parts.budgets === undefined ? [] : [charge(parts.budgets, prices, config, logger, directory)]),
    attemptUpstream(router, catalog),
    respond,
  ];
  const run = compose(stages);
  const modelsAuth = authenticate(directory);

  let inFlight = 0;
  let draining = false;

  function start(
    route: RouteName,
    format: ChatFormat | undefined,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const ctx = new RequestContext(owner, newRequestId(), route, format, req, res, performance.now());
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (!res.writableFinished)
        ctx.clientGone.abort(new GatewayError('client_closed', 'client disconnected'));
    });
    if (draining) {
      res.shouldKeepAlive = false;
      writeError(
        ctx,
        new GatewayError('shutting_down', 'the gateway is shutting down', { retryAfterSeconds: 1 }),
      );
      return;
    }
    run(ctx).catch((error: unknown) => {
      // handle-errors catches everything a stage throws; reaching here is a bug in the stages themselves.
      logger.error({ err: error, ...requestIds(ctx) }, 'pipeline failed');
      if (!res.headersSent)
        sendJson(
          res,
          500,
          (format ?? openAIChatFormat).errorBody(new GatewayError('internal', 'internal error')),
        );
      else res.destroy();
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    const method = req.method ?? 'GET';
    const post = postRoutes.get(path);
    if (post !== undefined) {
      if (method !== 'POST') {
        sendJson(
          res,
          405,
          (post.format ?? openAIChatFormat).errorBody(
            new GatewayError('method_not_allowed', `${method} is not allowed on ${path}; use POST`),
          ),
          { allow: 'POST' },
        );
        return;
      }
      start(post.route, post.format, req, res);
      return;
    }
    if (admin !== undefined && path.startsWith('/admin/')) return admin(req, res, path);
    if (method === 'GET' || method === 'HEAD') {
      if (path === '/healthz') return sendJson(res, 200, '{"status":"ok"}');
      if (path === '/readyz') {
        if (draining) return sendJson(res, 503, '{"status":"draining"}');
        // Backends reachable: with Redis down, requests still flow (cooldowns fail open), but the replica
        // says so, so an orchestrator can route around it or alert.
        if (!cooldowns.reachable()) return sendJson(res, 503, '{"status":"state backend unreachable"}');
        return sendJson(res, 200, '{"status":"ready"}');
      }
      if (path === '/metrics') return serveMetrics(metrics, req, res, logger);
      if (path === '/v1/models' || path === '/models' || path.startsWith('/v1/models/')) {
        listModels(req, res, path, modelsAuth, catalog);
        return;
      }
    }
    sendJson(
      res,
      404,
      openAIErrorBody(new GatewayError('route_not_found', `no route for ${method} ${path.slice(0, 200)}`)),
    );
  }

  return {
    config,
    logger,
    metrics,
    handle,
    inFlight: () => inFlight,
    drain() {
      draining = true;
    },
    async close() {
      clearInterval(flushTimer);
      unsubscribeAccessLog();
      metrics.close();
      await Promise.all([...adapters.values()].map(({ adapter }) => adapter.close()));
      await cooldowns.close();
      await parts.limiter?.close();
      await parts.budgets?.close();
      await idempotencyStore.close();
      await sync?.close();
      await parts.accounts?.close();
      // Last: the requests above have ended, so their rows are recorded; close flushes them.
      unsubscribeLedger();
      await parts.ledger?.close();
      await tracing.close();
      flushLogsSync(logger);
    },
  };
}
