/**
 * An in-process OTLP/HTTP trace receiver for tests: a node:http server on loopback that decodes what an
 * exporter really sent, OTLP/JSON or OTLP/protobuf, into one flat list of spans. The protobuf side is a
 * small reader of the wire format written from opentelemetry-proto's trace.proto, common.proto and
 * resource.proto, sharing no code with the SDK's encoder: a mistake there cannot hide in the test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: { name: string; timeNs: bigint; attributes: Record<string, unknown> }[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, unknown>;
  scope: string;
}

export interface ReceivedRequest {
  contentType: string;
  headers: IncomingMessage['headers'];
  spans: ReceivedSpan[];
}

export interface OtlpReceiver {
  /** e.g. http://127.0.0.1:4318 (no path). */
  url: string;
  requests: ReceivedRequest[];
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Protobuf wire format (https://protobuf.dev/programming-guides/encoding/)

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const length = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + length);
    if (out.length !== length) throw new Error('truncated bytes');
    this.pos += length;
    return out;
  }
  fixed64(): bigint {
    const value = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return value;
  }
  fixed32(): number {
    const value = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return value;
  }
  double(): number {
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }
  /** Reads every field of a message: calls `on(field, wireType)` which must consume the value. */
  fields(on: (field: number, wire: number) => boolean): void {
    while (!this.done) {
      const tag = Number(this.varint());
      const field = tag >>> 3;
      const wire = tag & 7;
      if (!on(field, wire)) this.skip(wire);
    }
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function anyValue(buf: Buffer): unknown {
  const r = new Reader(buf);
  let value: unknown;
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) value = r.bytes().toString('utf8');
    else if (field === 2 && wire === 0) value = r.varint() !== 0n;
    else if (field === 3 && wire === 0) value = Number(BigInt.asIntN(64, r.varint()));
    else if (field === 4 && wire === 1) value = r.double();
    else if (field === 5 && wire === 2) {
      const items: unknown[] = [];
      const list = new Reader(r.bytes());
      list.fields((f, w) => (f === 1 && w === 2 ? (items.push(anyValue(list.bytes())), true) : false));
      value = items;
    } else return false;
    return true;
  });
  return value;
}

function keyValue(buf: Buffer, into: Record<string, unknown>): void {
  const r = new Reader(buf);
  let key = '';
  let value: unknown;
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) key = r.bytes().toString('utf8');
    else if (field === 2 && wire === 2) value = anyValue(r.bytes());
    else return false;
    return true;
  });
  into[key] = value;
}

function protoSpan(buf: Buffer, resource: Record<string, unknown>, scope: string): ReceivedSpan {
  const span: ReceivedSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    name: '',
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    attributes: {},
    events: [],
    status: { code: 0, message: '' },
    resource,
    scope,
  };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) span.traceId = r.bytes().toString('hex');
    else if (field === 2 && wire === 2) span.spanId = r.bytes().toString('hex');
    else if (field === 3 && wire === 2) span.traceState = r.bytes().toString('utf8');
    else if (field === 4 && wire === 2) span.parentSpanId = r.bytes().toString('hex');
    else if (field === 5 && wire === 2) span.name = r.bytes().toString('utf8');
    else if (field === 6 && wire === 0) span.kind = Number(r.varint());
    else if (field === 7 && wire === 1) span.startNs = r.fixed64();
    else if (field === 8 && wire === 1) span.endNs = r.fixed64();
    else if (field === 9 && wire === 2) keyValue(r.bytes(), span.attributes);
    else if (field === 11 && wire === 2) {
      const event = { name: '', timeNs: 0n, attributes: {} as Record<string, unknown> };
      const e = new Reader(r.bytes());
      e.fields((f, w) => {
        if (f === 1 && w === 1) event.timeNs = e.fixed64();
        else if (f === 2 && w === 2) event.name = e.bytes().toString('utf8');
        else if (f === 3 && w === 2) keyValue(e.bytes(), event.attributes);
        else return false;
        return true;
      });
      span.events.push(event);
    } else if (field === 15 && wire === 2) {
      const s = new Reader(r.bytes());
      s.fields((f, w) => {
        if (f === 2 && w === 2) span.status.message = s.bytes().toString('utf8');
        else if (f === 3 && w === 0) span.status.code = Number(s.varint());
        else return false;
        return true;
      });
    } else if (field === 16 && wire === 5) r.fixed32();
    else return false;
    return true;
  });
  return span;
}

/** ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span. */
export function decodeProtobufTraces(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  const request = new Reader(body);
  request.fields((field, wire) => {
    if (field !== 1 || wire !== 2) return false;
    const resourceSpans = new Reader(request.bytes());
    const resource: Record<string, unknown> = {};
    const scopeSpans: Buffer[] = [];
    resourceSpans.fields((f, w) => {
      if (f === 1 && w === 2) {
        const res = new Reader(resourceSpans.bytes());
        res.fields((rf, rw) => (rf === 1 && rw === 2 ? (keyValue(res.bytes(), resource), true) : false));
      } else if (f === 2 && w === 2) scopeSpans.push(resourceSpans.bytes());
      else return false;
      return true;
    });
    for (const buf of scopeSpans) {
      const ss = new Reader(buf);
      let scope = '';
      const raw: Buffer[] = [];
      ss.fields((f, w) => {
        if (f === 1 && w === 2) {
          const sc = new Reader(ss.bytes());
          sc.fields((sf, sw) =>
            sf === 1 && sw === 2 ? ((scope = sc.bytes().toString('utf8')), true) : false,
          );
        } else if (f === 2 && w === 2) raw.push(ss.bytes());
        else return false;
        return true;
      });
      for (const s of raw) spans.push(protoSpan(s, resource, scope));
    }
    return true;
  });
  return spans;
}

// ---------------------------------------------------------------------------------------------------
// OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids are hex, enums are
// numbers, 64-bit integers may be strings.

type Json = Record<string, unknown>;

function jsonAnyValue(value: Json | undefined): unknown {
  if (value === undefined) return undefined;
  if ('stringValue' in value) return value['stringValue'];
  if ('boolValue' in value) return value['boolValue'];
  if ('intValue' in value) return Number(value['intValue']);
  if ('doubleValue' in value) return Number(value['doubleValue']);
  if ('arrayValue' in value)
    return ((value['arrayValue'] as Json)['values'] as Json[] | undefined)?.map(jsonAnyValue) ?? [];
  return undefined;
}

function jsonAttributes(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (list as Json[] | undefined) ?? [])
    out[kv['key'] as string] = jsonAnyValue(kv['value'] as Json);
  return out;
}

export function decodeJsonTraces(body: Buffer): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  const request = JSON.parse(body.toString('utf8')) as Json;
  for (const rs of (request['resourceSpans'] as Json[] | undefined) ?? []) {
    const resource = jsonAttributes((rs['resource'] as Json | undefined)?.['attributes']);
    for (const ss of (rs['scopeSpans'] as Json[] | undefined) ?? []) {
      const scope = ((ss['scope'] as Json | undefined)?.['name'] as string | undefined) ?? '';
      for (const s of (ss['spans'] as Json[] | undefined) ?? []) {
        const status = (s['status'] as Json | undefined) ?? {};
        spans.push({
          traceId: s['traceId'] as string,
          spanId: s['spanId'] as string,
          parentSpanId: (s['parentSpanId'] as string | undefined) ?? '',
          traceState: (s['traceState'] as string | undefined) ?? '',
          name: s['name'] as string,
          kind: Number(s['kind'] ?? 0),
          startNs: BigInt(s['startTimeUnixNano'] as string | number),
          endNs: BigInt(s['endTimeUnixNano'] as string | number),
          attributes: jsonAttributes(s['attributes']),
          events: ((s['events'] as Json[] | undefined) ?? []).map((e) => ({
            name: e['name'] as string,
            timeNs: BigInt(e['timeUnixNano'] as string | number),
            attributes: jsonAttributes(e['attributes']),
          })),
          status: {
            code: Number(status['code'] ?? 0),
            message: (status['message'] as string | undefined) ?? '',
          },
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

// ---------------------------------------------------------------------------------------------------

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    readAll(req).then(
      (body) => {
        const contentType = req.headers['content-type'] ?? '';
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        const spans = contentType.startsWith('application/json')
          ? decodeJsonTraces(body)
          : contentType.startsWith('application/x-protobuf')
            ? decodeProtobufTraces(body)
            : undefined;
        if (spans === undefined) {
          res.writeHead(415).end();
          return;
        }
        requests.push({ contentType, headers: req.headers, spans });
        // An empty ExportTraceServiceResponse, in the request's encoding.
        if (contentType.startsWith('application/json'))
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans: () => requests.flatMap((r) => r.spans),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
