/** Starts a real gateway on a loopback port for a test, with its log lines captured. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { CooldownStore } from '../../src/state/index.js';

export interface TestGateway extends RunningServer {
  /** Parsed JSON log lines written so far. */
  logs: Record<string, unknown>[];
  /** Raw log text, to search for secrets. */
  rawLogs: () => string;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /**
   * A cooldown store of the test's own (e.g. createCooldownStore(state, { prefix }) on a prefix no other
   * test uses); the gateway closes it. Default: the one the config's state backend names.
   */
  cooldowns?: CooldownStore;
}

export async function startGateway(
  config: Record<string, unknown>,
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const raw: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const destination = {
    write(line: string): void {
      raw.push(line);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // pino writes one JSON object per line; anything else is kept raw only
      }
    },
  };
  const server = (config['server'] ?? {}) as Record<string, unknown>;
  // Tests of one adapter or of error mapping want exactly one attempt per request and no memory between
  // tests (a 429 in one test must not rest the target for the next); routing tests pass their own.
  const routing = config['routing'] ?? { max_attempts: 1, cooldowns: false };
  // The embedded ledger in a directory of the test's own, removed on close.
  const data =
    config['database'] === undefined ? mkdtempSync(join(tmpdir(), 'sluice-test-data-')) : undefined;
  const validated = validateConfig({
    ...config,
    ...(data === undefined ? {} : { database: { url: 'embedded', path: data } }),
    routing,
    server: { host: '127.0.0.1', ...server, port: 0 },
  });
  const running = await startServer(validated, {
    logDestination: destination,
    ...(options.cooldowns === undefined ? {} : { cooldowns: options.cooldowns }),
  });
  return {
    ...running,
    logs,
    rawLogs: () => raw.join(''),
    close: async () => {
      await running.shutdown(1_000);
      if (data !== undefined) rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A provider block pointing at a simulator (or any OpenAI-compatible URL). */
export function upstream(
  name: string,
  baseUrl: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    kind: 'openai-compatible',
    base_url: `${baseUrl}/v1`,
    api_key: 'sk-provider-secret-123',
    ...extra,
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 2_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
