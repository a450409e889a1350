/**
 * providers/http/undici-parts.ts and observability/prom-client-parts.ts load undici's and prom-client's
 * files by path instead of their index: these tests fail when an upgrade moves those files, or makes them
 * something other than what the index exports.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import * as promClient from 'prom-client';
import * as undici from 'undici';
import * as promParts from '../src/observability/prom-client-parts.js';
import { errors, Pool, requestOn } from '../src/providers/http/undici-parts.js';

test('the Pool and the error classes are the ones undici exports', () => {
  assert.equal(Pool, undici.Pool);
  assert.equal(errors, undici.errors);
  assert.equal(typeof errors.HeadersTimeoutError, 'function');
});

test('requestOn sends a request through a Pool and reads the answer', async () => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      res.writeHead(201, { 'x-seen': req.headers['x-test'] ?? '' });
      res.end(`${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    const response = await requestOn(pool, {
      path: '/v1/x?y=1',
      method: 'POST',
      headers: ['x-test', 'yes'],
      body: 'hello',
    });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['x-seen'], 'yes');
    assert.equal(await response.body.text(), 'POST /v1/x?y=1 hello');
  } finally {
    await pool.close();
    server.close();
  }
});

test("prom-client's Registry, Counter and Gauge are the ones its index exports, and render", async () => {
  assert.equal(promParts.Registry, promClient.Registry);
  assert.equal(promParts.Counter, promClient.Counter);
  assert.equal(promParts.Gauge, promClient.Gauge);
  const registry = new promParts.Registry();
  new promParts.Counter({ name: 'parts_total', help: 'h', registers: [registry] }).inc(2);
  assert.match(await registry.metrics(), /^parts_total 2$/m);
});
