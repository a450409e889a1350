// The simulator's wire formats beyond OpenAI: each format module (simulator/<format>/) exports a FormatServer
// that claims its own paths and answers in its own vocabulary, errors and auth included. The server asks
// each enabled format in turn before its OpenAI routes.
import { anthropicFormat } from './anthropic/server.js';
import { azureFormat } from './azure/server.js';
import { bedrockFormat } from './bedrock/server.js';
import { cohereFormat } from './cohere/server.js';
import type { SimulatorContext } from './context.js';
import { geminiFormat } from './gemini/server.js';
import type { Exchange, VendorHeaders } from './exchange.js';
import type { SimulatorFormat } from './options.js';

export interface FormatRequest {
  method: string;
  /** The path without the query string, not decoded. */
  path: string;
  query: URLSearchParams;
  /**
   * Reads the whole body (size-limited: an oversized one is answered 413 and `onText` never runs) and
   * records it for stats.lastRequest, parsed when it is JSON. The handler parses and validates it itself.
   */
  readBody(onText: (text: string) => void): void;
  /** Records a request without a body (GET) for stats.lastRequest. */
  record(): void;
  /** The simulator's configured key (options.apiKey), or undefined when none is required. */
  apiKey: string | undefined;
}

export interface FormatServer {
  /** The --format that serves it ('openai' for Azure's deployment paths, which speak OpenAI's format). */
  readonly format: Exclude<SimulatorFormat, 'all'>;
  /** The provider's own headers on every answer of this format (request id, timing), errors included. */
  readonly vendorHeaders: VendorHeaders;
  /** If the request's path belongs to this format, handles it (now or later) and returns true. */
  serve(ex: Exchange, request: FormatRequest, ctx: SimulatorContext): boolean;
}

const servers: FormatServer[] = [];

/** Called once by each format module's registration line below. */
function register(server: FormatServer): void {
  servers.push(server);
}

/** The format servers that answer when the simulator runs with `format`. */
export function formatServersFor(format: SimulatorFormat): FormatServer[] {
  if (format === 'all') return servers;
  return servers.filter((server) => server.format === format);
}

// One line per format module.
register(anthropicFormat);
register(geminiFormat);
register(bedrockFormat);
register(cohereFormat);
register(azureFormat);
