/**
 * The OTLP sink of the bench's observability phase, run as a process of its own (like the simulators,
 * so the load generator's process does nothing else): answers every POST /v1/traces with 200 and counts
 * what it got. GET /stats answers the counts since the last POST /reset.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Counts the spans of an OTLP/protobuf ExportTraceServiceRequest without decoding them. */
function countSpans(body: Buffer): number {
  let spans = 0;
  const varint = (at: { pos: number }): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = body[at.pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  // request.resource_spans (1) → resource_spans.scope_spans (2) → scope_spans.spans (2)
  const walk = (from: number, to: number, depth: number): void => {
    const at = { pos: from };
    while (at.pos < to) {
      const tag = varint(at);
      const wire = tag % 8;
      const field = Math.floor(tag / 8);
      if (wire === 0) varint(at);
      else if (wire === 1) at.pos += 8;
      else if (wire === 5) at.pos += 4;
      else if (wire === 2) {
        const length = varint(at);
        if (depth === 0 && field === 1) walk(at.pos, at.pos + length, 1);
        else if (depth === 1 && field === 2) walk(at.pos, at.pos + length, 2);
        else if (depth === 2 && field === 2) spans++;
        at.pos += length;
      } else return;
    }
  };
  walk(0, body.length, 0);
  return spans;
}

const stats = { requests: 0, spans: 0, bytes: 0 };
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
      return;
    }
    if (req.url === '/reset') {
      stats.requests = 0;
      stats.spans = 0;
      stats.bytes = 0;
      res.writeHead(204).end();
      return;
    }
    const body = Buffer.concat(chunks);
    stats.requests++;
    stats.bytes += body.length;
    stats.spans += countSpans(body);
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`otlp sink listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
