// The simulator's HTTP server: routing, body reading, auth, and the handle tests and the CLI drive it with.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServingCapacity } from './capacity.js';
import { handleChat } from './chat.js';
import type { SimulatorContext } from './context.js';
import { handleEmbeddings } from './embeddings.js';
import {
  incorrectApiKey,
  invalidJson,
  invalidMethod,
  invalidUrl,
  missingApiKey,
  tooLarge,
} from './errors.js';
import type { ApiError } from './errors.js';
import { Exchange, emptyStats, openAIHeaders } from './exchange.js';
import { formatServersFor, type FormatRequest } from './formats.js';
import type { SimulatorStats } from './exchange.js';
import { ModelCatalog } from './models.js';
import { defaultSimulatorOptions, validateSimulatorOptions } from './options.js';
import type { SimulatorOptions } from './options.js';
import { Random, mixSeed } from './random.js';

export type { RecordedRequest, SimulatorStats } from './exchange.js';

export interface SimulatorHandle {
  /** e.g. http://127.0.0.1:8090, without /v1. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Live counters; see resetStats. */
  readonly stats: SimulatorStats;
  /** With maxConcurrency: the requests being served and those waiting for a slot. */
  readonly capacity: {
    readonly inService: number;
    readonly queued: number;
    /** See ServingCapacity.onStart. */
    onStart: ((waitedMs: number) => void) | undefined;
  };
  /** The options in force (a copy). */
  readonly options: Readonly<SimulatorOptions>;
  /**
   * Changes behaviour from the next request on (streams already running keep their pacing). A new seed
   * restarts the fault draws. host, port and format cannot change while running.
   */
  setOptions(partial: Partial<SimulatorOptions>): void;
  /** Zeroes the counters and forgets lastRequest; inFlight is a gauge and keeps counting what is open. */
  resetStats(): void;
  /** Stops listening and destroys open connections, so nothing keeps a test process alive. */
  close(): Promise<void>;
}

const BODY_LIMIT = 32 * 1024 * 1024;
const HEALTH_BODY = '{"status":"ok"}';

type BodyHandler = (ex: Exchange, body: unknown, ctx: SimulatorContext) => void;

/** Copies the defined values of `partial` (apiKey: undefined is meaningful: no key required). */
function merge(target: SimulatorOptions, partial: Partial<SimulatorOptions>): void {
  const out = target as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined || key === 'apiKey') out[key] = value;
  }
}

function randomsFor(seed: number): Pick<SimulatorContext, 'faults' | 'jitter'> {
  return { faults: new Random(seed), jitter: new Random(mixSeed(seed, 0x6a177e5)) };
}

function checkAuth(req: IncomingMessage, apiKey: string | undefined): ApiError | undefined {
  if (apiKey === undefined) return undefined;
  const header = req.headers.authorization;
  if (header === undefined || header === '') return missingApiKey();
  const key = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : header;
  return key === apiKey ? undefined : incorrectApiKey(key);
}

export async function startSimulator(options: Partial<SimulatorOptions> = {}): Promise<SimulatorHandle> {
  validateSimulatorOptions(options);
  const current: SimulatorOptions = { ...defaultSimulatorOptions };
  merge(current, options);
  const capacity = new ServingCapacity(() => current.maxConcurrency);
  const ctx: SimulatorContext = { options: current, capacity, ...randomsFor(current.seed) };
  const stats = emptyStats();
  const catalog = new ModelCatalog();

  const record = (ex: Exchange, body: unknown): void => {
    if (!current.recordRequests) return;
    const { method = 'GET', url = '/', headers } = ex.req;
    stats.lastRequest = { method, url, headers, body };
  };

  /** Reads the body up to BODY_LIMIT (413 beyond it) and hands over its text. */
  const collectBody = (ex: Exchange, onText: (text: string) => void): void => {
    const req = ex.req;
    // A client that leaves mid-upload makes the request emit an error; the close is counted elsewhere.
    req.on('error', () => {});
    const declared = Number(req.headers['content-length']);
    if (declared > BODY_LIMIT) {
      // Connection: close, so Node does not read the rest of the oversized body to reuse the socket.
      ex.sendError(tooLarge(BODY_LIMIT), ['connection', 'close']);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > BODY_LIMIT) {
        rejected = true;
        ex.sendError(tooLarge(BODY_LIMIT), ['connection', 'close']);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (rejected || ex.closed) return;
      onText((chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)).toString('utf8'));
    });
  };

  const readBody = (ex: Exchange, handler: BodyHandler): void => {
    const req = ex.req;
    collectBody(ex, (raw) => {
      let body: unknown = raw;
      let parsed = false;
      try {
        body = JSON.parse(raw);
        parsed = true;
      } catch {
        // Answered below, after auth, as OpenAI orders its checks.
      }
      record(ex, body);
      const authError = checkAuth(req, current.apiKey);
      if (authError !== undefined) return ex.sendError(authError);
      if (!parsed) return ex.sendError(invalidJson());
      try {
        handler(ex, body, ctx);
      } catch (error) {
        ex.fail(error);
      }
    });
  };

  const post = (ex: Exchange, method: string, path: string, handler: BodyHandler): void => {
    if (method !== 'POST') {
      record(ex, undefined);
      ex.sendError(invalidMethod(method, path), ['allow', 'POST']);
      return;
    }
    readBody(ex, handler);
  };

  const get = (ex: Exchange, method: string, path: string, respond: () => void, auth = true): void => {
    record(ex, undefined);
    if (method !== 'GET' && method !== 'HEAD') {
      ex.sendError(invalidMethod(method, path), ['allow', 'GET, HEAD']);
      return;
    }
    const authError = auth ? checkAuth(ex.req, current.apiKey) : undefined;
    if (authError !== undefined) ex.sendError(authError);
    else respond();
  };

  const formats = formatServersFor(current.format);
  const servesOpenAI = current.format === 'openai' || current.format === 'all';

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const ex = new Exchange(req, res, stats);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    try {
      if (formats.length > 0) {
        const request: FormatRequest = {
          method,
          path,
          query: new URLSearchParams(query === -1 ? '' : url.slice(query + 1)),
          readBody: (onText) =>
            collectBody(ex, (text) => {
              let body: unknown = text;
              try {
                body = JSON.parse(text);
              } catch {
                // Recorded as text; the format answers the bad JSON in its own words.
              }
              record(ex, body);
              try {
                onText(text);
              } catch (error) {
                ex.fail(error);
              }
            }),
          record: () => record(ex, undefined),
          apiKey: current.apiKey,
        };
        // Set before serve, which may answer at once; nothing is written when it declines the path.
        for (const format of formats) {
          ex.vendorHeaders = format.vendorHeaders;
          if (format.serve(ex, request, ctx)) return;
        }
        ex.vendorHeaders = openAIHeaders;
      }
      if (!servesOpenAI) {
        record(ex, undefined);
        return ex.sendError(invalidUrl(method, path));
      }
      switch (path) {
        case '/v1/chat/completions':
          return post(ex, method, path, handleChat);
        case '/v1/embeddings':
          return post(ex, method, path, handleEmbeddings);
        case '/v1/models':
          return get(ex, method, path, () => ex.sendJson(200, catalog.list(current.models)));
        case '/healthz':
          return get(ex, method, path, () => ex.sendJson(200, HEALTH_BODY), false);
      }
      if (path.startsWith('/v1/models/') && path.length > '/v1/models/'.length) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        return get(ex, method, path, () => {
          const found = catalog.retrieve(current.models, id);
          if (typeof found === 'string') ex.sendJson(200, found);
          else ex.sendError(found);
        });
      }
      record(ex, undefined);
      ex.sendError(invalidUrl(method, path));
    } catch (error) {
      // decodeURIComponent rejects malformed escapes; any other throw is a bug that must not kill the server.
      ex.fail(error instanceof URIError ? invalidUrl(method, path) : error);
    }
  };

  const server = createServer({ noDelay: true }, onRequest);
  // Longer than undici's 4 s default keep-alive, so the client, not the server, retires idle sockets, and a
  // request never races a server-side close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(current.port, current.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = current.host;
  const port = address.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    host,
    stats,
    capacity,
    get options(): Readonly<SimulatorOptions> {
      return { ...current };
    },
    setOptions(partial: Partial<SimulatorOptions>): void {
      validateSimulatorOptions(partial);
      for (const key of ['host', 'port', 'format'] as const) {
        if (partial[key] !== undefined && partial[key] !== current[key]) {
          throw new Error(`Simulator option ${key} cannot change while the simulator is running`);
        }
      }
      merge(current, partial);
      if (partial.seed !== undefined) Object.assign(ctx, randomsFor(current.seed));
      // A raised (or removed) limit admits waiters now, not at the next release.
      capacity.drain();
    },
    resetStats(): void {
      stats.requests = 0;
      stats.completed = 0;
      stats.aborted = 0;
      stats.streamsCut = 0;
      for (const key of Object.keys(stats.byStatus)) delete stats.byStatus[key];
      delete stats.lastRequest;
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
