/**
 * The node:http listener around a gateway, and graceful shutdown: on SIGTERM stop accepting connections,
 * answer new requests on kept-alive connections with 503, let in-flight requests finish within the grace
 * period, then close what is left and exit.
 */
import { createLimiter } from './admission/create-limiter.js';
import { openAccountStore } from './accounts/create-account-store.js';
import { createIdempotencyStore } from './idempotency/create-idempotency-store.js';
import { openGatewayLedger } from './spend/open-ledger.js';
import { createBudgetStore } from './spend/budgets/create-budget-store.js';
import { createProviders } from './providers/registry.js';
import { createCooldownStore } from './state/index.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, type Gateway, type GatewayOptions } from './app.js';
import type { Config } from './config/schema.js';

export interface RunningServer {
  gateway: Gateway;
  server: Server;
  url: string;
  host: string;
  port: number;
  /** Graceful stop: drain, wait up to the grace period for in-flight requests, then force-close. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startServer(config: Config, options: GatewayOptions = {}): Promise<RunningServer> {
  // The state backend first: with Redis and on_error closed, no Redis means no gateway.
  const cooldowns = options.cooldowns ?? (await createCooldownStore(config.state));
  const adapters = await createProviders(config.providers);
  const limiter = await createLimiter(config);
  const budgets = await createBudgetStore(config);
  const ledger = await openGatewayLedger(config);
  const idempotency = await createIdempotencyStore(config);
  // After the ledger, whose migrations made its tables; read in full before the first request is served,
  // so a restarted replica knows every key made through the admin API.
  const accounts = await openAccountStore(config);
  const initialAccounts = await accounts?.changesSince(0);
  const gateway = createGateway(
    config,
    { adapters, limiter, budgets, ledger, idempotency, accounts, initialAccounts },
    { ...options, cooldowns },
  );
  const server = createServer(
    {
      keepAliveTimeout: config.server.keep_alive_timeout_ms,
      // Bounds receiving the request only (a slow-body client cannot hold a connection forever); the
      // answer, a long stream say, is bounded by the providers' timeouts instead.
      requestTimeout: config.server.request_timeout_ms,
      // How often Node looks for requests past their timeout (its default is every 30 s).
      connectionsCheckingInterval: Math.max(
        100,
        Math.min(5_000, Math.floor(config.server.request_timeout_ms / 4)),
      ),
    },
    gateway.handle,
  );
  // Headers must arrive promptly even though bodies and answers may take minutes.
  server.headersTimeout = 30_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || socket.destroyed) {
      socket.destroy(error);
      return;
    }
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const body = JSON.stringify({
      error: {
        message: timedOut ? 'the request did not arrive in time' : 'malformed HTTP request',
        type: 'invalid_request_error',
        param: null,
        code: timedOut ? 'request_timeout' : 'bad_request',
      },
    });
    const status = timedOut ? '408 Request Timeout' : '400 Bad Request';
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let stopping: Promise<void> | undefined;
  async function shutdown(graceMs = config.server.shutdown_grace_ms): Promise<void> {
    stopping ??= (async () => {
      gateway.drain();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (gateway.inFlight() > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const left = gateway.inFlight();
      if (left > 0)
        gateway.logger.warn({ in_flight: left }, 'grace period over: closing remaining connections');
      server.closeAllConnections();
      await closed;
      await gateway.close();
    })();
    return stopping;
  }

  return { gateway, server, url: `http://${host}:${address.port}`, host, port: address.port, shutdown };
}
