/**
 * Loads the config file on a short-lived worker thread. yaml and zod (with the config schema built from
 * it) are needed once, at start, but an ES module stays loaded for the life of the process: loaded on the
 * gateway's thread they held some 9 MB of memory for good (docs/operations.md, Memory). On a worker they go
 * with it; the gateway gets the config as plain data, which is all a validated config is (the schema has no
 * transforms). The admin API loads zod again on its first request, only where it is enabled.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError } from './config-error.js';
import type { Config } from './schema.js';
import type { LoadAnswer, LoadRequest } from './load-worker.js';

export function loadConfigOffThread(path: string, env: Record<string, string | undefined>): Promise<Config> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.js', import.meta.url), {
      workerData: { path, env } satisfies LoadRequest,
      // Not the parent's flags (see ledger/sqlite-ledger.ts): the thread needs none.
      execArgv: [],
    });
    let answered = false;
    worker.once('message', (answer: LoadAnswer) => {
      answered = true;
      if ('config' in answer) resolve(answer.config);
      else if ('problems' in answer) reject(new ConfigError(answer.source, answer.problems));
      else reject(new Error(`loading the config failed: ${answer.error}`));
    });
    worker.once('error', (error) => {
      answered = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the config loader exited (code ${code}) without an answer`));
    });
  });
}
