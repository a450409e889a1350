/**
 * A config that cannot be served: every problem with its path. Its own module, free of yaml and zod, so the
 * gateway's thread can report one without loading the libraries that found it (config/load-off-thread.ts).
 */
import { fileURLToPath } from 'node:url';

export const demoConfigPath = fileURLToPath(new URL('../../../config/demo.yaml', import.meta.url));

export class ConfigError extends Error {
  readonly source: string;
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid config ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }
}
