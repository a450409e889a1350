/**
 * The reference for "the cost of Node itself": a bare pass-through proxy in a few lines of node:http and
 * undici that parses the JSON body, forwards it, and pipes the answer back. Sluice is measured against it.
 * Usage: node dist/bench/bare-proxy.js UPSTREAM_ORIGIN
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

// Enough connections for the memory phase's 1,000 concurrent streams (the throughput phases use 64).
const pool = new Pool(process.argv[2] as string, { connections: 2_000, keepAliveTimeout: 4_000 });

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    pool
      .request({
        path: req.url ?? '/',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      .then(async (upstream) => {
        res.writeHead(upstream.statusCode, { 'content-type': String(upstream.headers['content-type']) });
        for await (const chunk of upstream.body) res.write(chunk);
        res.end();
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(`bare proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
