/** The worker of load-off-thread.ts: loads and validates the file, answers once, and ends. */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from './schema.js';
import { ConfigError, loadConfigFile } from './load.js';

export interface LoadRequest {
  path: string;
  env: Record<string, string | undefined>;
}

export type LoadAnswer = { config: Config } | { source: string; problems: string[] } | { error: string };

const port = parentPort;
if (port === null) throw new Error('load-worker runs as a worker thread');
const { path, env } = workerData as LoadRequest;
let answer: LoadAnswer;
try {
  answer = { config: await loadConfigFile(path, env) };
} catch (error) {
  if (error instanceof ConfigError) answer = { source: error.source, problems: error.problems };
  else answer = { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}
port.postMessage(answer);
