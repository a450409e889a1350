// One request and its response: the bookkeeping (stats, the pending timer) and the provider headers every
// response carries. Hot path: everything here runs once per request.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, SERVER_ERROR_BODY } from './errors.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when none was read. */
  body: unknown;
}

export interface SimulatorStats {
  requests: number;
  /** Responses sent to the end. */
  completed: number;
  /** The client (or gateway) closed the connection before the response finished. */
  aborted: number;
  /** Streams the simulator cut on purpose (--stream-cut-rate). */
  streamsCut: number;
  inFlight: number;
  /** Responses by HTTP status, counted when their headers are written. */
  byStatus: Record<string, number>;
  /** Only with the recordRequests option. */
  lastRequest?: RecordedRequest;
}

export function emptyStats(): SimulatorStats {
  return { requests: 0, completed: 0, aborted: 0, streamsCut: 0, inFlight: 0, byStatus: {} };
}

// A random prefix per process plus a counter: unique enough for ids, without crypto work per request.
const ID_PREFIX = randomBytes(8).toString('hex');
let idSequence = 0;

/** 24 hex digits, unique within the process and unlikely to collide across processes. */
export function nextId(): string {
  idSequence = (idSequence + 1) % 0x100000000;
  return ID_PREFIX + idSequence.toString(16).padStart(8, '0');
}

/**
 * Appends the headers a provider puts on every answer besides the content ones (its request id, its
 * timing) to a flat name, value list. A format server declares its own (FormatServer.vendorHeaders).
 */
export type VendorHeaders = (ex: Exchange, headers: string[]) => void;

/** OpenAI's, the default: the request id, the processing time and the API version. */
export const openAIHeaders: VendorHeaders = (ex, headers) => {
  headers.push(
    'x-request-id',
    ex.requestId,
    'openai-processing-ms',
    String(ex.elapsedMs()),
    'openai-version',
    '2020-10-01',
  );
};

export class Exchange {
  /** The one pending delay or pacing timer, cleared if the client leaves. */
  timer: NodeJS.Timeout | undefined = undefined;
  closed = false;
  /** Set before the simulator destroys the socket on purpose, so the close is not counted as an abort. */
  cut = false;
  readonly requestId = 'req_' + nextId();
  /** The provider headers every answer of this exchange carries; set by the format server that claims it. */
  vendorHeaders: VendorHeaders = openAIHeaders;
  private readonly startedAt = performance.now();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly stats: SimulatorStats,
  ) {
    stats.requests++;
    stats.inFlight++;
    res.on('close', () => this.onClose());
  }

  private onClose(): void {
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const stats = this.stats;
    stats.inFlight--;
    if (this.cut) stats.streamsCut++;
    else if (this.res.writableFinished) stats.completed++;
    else stats.aborted++;
  }

  /** Runs `fn` after `delayMs`, or at once without a delay: a 0 ms timer still costs an event-loop turn. */
  after(delayMs: number, fn: () => void): void {
    if (delayMs <= 0) {
      fn();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      try {
        fn();
      } catch (error) {
        this.fail(error);
      }
    }, delayMs);
  }

  /** Whole milliseconds since the request arrived. */
  elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /** Writes the status line and headers (flat name, value list) plus the provider's own (vendorHeaders). */
  writeHead(status: number, headers: string[]): void {
    const byStatus = this.stats.byStatus;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    this.vendorHeaders(this, headers);
    this.res.writeHead(status, headers);
  }

  sendJson(status: number, body: string, extraHeaders?: readonly string[]): void {
    if (this.closed) return;
    const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))];
    if (extraHeaders !== undefined) headers.push(...extraHeaders);
    this.writeHead(status, headers);
    this.res.end(body);
  }

  sendError(error: ApiError, extraHeaders?: readonly string[]): void {
    this.sendJson(error.status, error.body(), extraHeaders);
  }

  /** Answers a thrown ApiError as such; anything else is a simulator bug, answered as a 500 and reported. */
  fail(error: unknown): void {
    if (error instanceof ApiError) {
      this.sendError(error);
      return;
    }
    console.error('sluice simulator: unexpected error', error);
    if (this.res.headersSent) this.res.destroy();
    else this.sendJson(500, SERVER_ERROR_BODY);
  }
}
