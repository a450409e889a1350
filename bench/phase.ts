/**
 * What bench/run.ts hands each phase module (admission.ts, observability.ts), and how a phase starts a
 * Sluice: `sluice serve` on a config it writes, with the Node flags of the bin's shebang, as users start
 * it, on the core of the proxy under test.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Service, ServiceOptions } from './processes.js';

export interface PhaseContext {
  quick: boolean;
  /** Seconds per throughput round. */
  seconds: number;
  rounds: number;
  /** The fast simulator (no delays) the throughput phases use. */
  fastUrl: string;
  /** Where configs and logs go. */
  dir: string;
  /** The core of the proxy under test, when pinned. */
  proxyCore: number;
  /** bench/run.ts's start(): pins, and stops every service at the end of the run. */
  start(
    name: string,
    script: string,
    args: string[],
    pattern: RegExp,
    options?: ServiceOptions,
  ): Promise<Service>;
}

const sluiceLine = /sluice listening on (http:\/\/\S+)/;
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const sluiceBin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
/** The bin's shebang, `#!/usr/bin/env -S NAME=VALUE... node --flag...`: its variables and Node's flags. */
const shebang = (/^#!(.*)$/m.exec(readFileSync(sluiceBin, 'utf8'))?.[1] ?? '').split(/\s+/);
const nodeAt = shebang.indexOf('node');
const nodeFlags = shebang.slice(nodeAt + 1).filter((flag) => flag.startsWith('--'));
const nodeEnv = Object.fromEntries(
  shebang.slice(0, nodeAt).flatMap((word) => {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(word);
    return match === null ? [] : [[match[1] as string, match[2] as string]];
  }),
);

/**
 * Writes `<file>.yaml` in the phase's folder and serves it; the log goes to `<file>.log`. A config that
 * names no database gets a fresh embedded one of its own there (not ./data, which earlier runs grew).
 */
export async function startSluice(
  ctx: PhaseContext,
  name: string,
  file: string,
  yaml: string,
  options: ServiceOptions = {},
): Promise<Service> {
  const configPath = join(ctx.dir, `${file}.yaml`);
  const database = /^database:/m.test(yaml)
    ? ''
    : `database: { url: embedded, path: "${join(ctx.dir, `data-${file}`)}" }\n`;
  await writeFile(configPath, database + yaml);
  // startService runs `node <script> <args>`, so Node's own flags take the script's place (and the
  // shebang's variables go into the environment).
  const [first, ...rest] = [...nodeFlags, cli, 'serve', '--config', configPath, '--port', '0'];
  return ctx.start(name, first as string, rest, sluiceLine, {
    core: ctx.proxyCore,
    logFile: join(ctx.dir, `${file}.log`),
    ...options,
    env: { ...nodeEnv, ...options.env },
  });
}
