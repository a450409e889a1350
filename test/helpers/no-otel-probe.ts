/**
 * Run as a child process by test/tracing.test.ts: records every module the process loads while it starts
 * a gateway without any OTEL_* variable and serves one request, then prints what was loaded and the
 * traceparent the upstream received, as one JSON line.
 */
import { registerHooks } from 'node:module';

const loaded: string[] = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    loaded.push(result.url);
    return result;
  },
});

const { startSimulator } = await import('../../src/simulator/server.js');
const { startGateway, upstream } = await import('./gateway.js');

const sim = await startSimulator({ port: 0, recordRequests: true });
const gateway = await startGateway({
  providers: [upstream('sim', sim.url)],
  models: [{ name: 'm', targets: [{ provider: 'sim', model: 'gpt-4o-mini' }] }],
});
const res = await fetch(`${gateway.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
});
await res.text();
const traceparent = String(sim.stats.lastRequest?.headers['traceparent']);
await gateway.close();
await sim.close();
process.stdout.write(`${JSON.stringify({ loaded, traceparent })}\n`);
