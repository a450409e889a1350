/** `sluice serve | simulate | check`: parses argv and hands over; nothing else lives here. */
import { parseArgs } from 'node:util';
import { ConfigError, demoConfigPath } from './config/config-error.js';
import { loadConfigOffThread } from './config/load-off-thread.js';
import type { Config } from './config/schema.js';
import { flushLogsSync } from './observability/logger.js';

const usage = `usage:
  sluice serve [--config FILE] [--host H] [--port N]   run the gateway (default port 8080)
  sluice simulate [--port N] [--format openai] [...]   run the provider simulator (see --help)
  sluice check --config FILE                           validate a config, print every problem`;

function portOf(text: string, source: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(source, [`port: expected 0-65535, got "${text}"`]);
  return port;
}

async function load(path: string | undefined): Promise<{ config: Config; path: string }> {
  const file = path ?? process.env['SLUICE_CONFIG'] ?? demoConfigPath;
  return { config: await loadConfigOffThread(file, process.env), path: file };
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
    },
    strict: true,
  });
  const { config } = await load(values.config);
  const host = values.host ?? process.env['SLUICE_HOST'];
  const port = values.port ?? process.env['SLUICE_PORT'];
  if (host !== undefined) config.server.host = host;
  if (port !== undefined) config.server.port = portOf(port, '--port');
  // Each command loads only its own code: the gateway never loads the simulator's formats, and back.
  const { startServer } = await import('./server.js');
  const running = await startServer(config);
  process.once('exit', () => flushLogsSync(running.gateway.logger));
  // A bug that escapes every handler: record it with the rest of the logs, then let the supervisor restart
  // a clean process rather than serve on in an unknown state.
  process.once('uncaughtException', (error) => {
    running.gateway.logger.fatal({ err: error }, 'uncaught exception: exiting');
    process.exit(1);
  });
  const stop = (signal: string): void => {
    running.gateway.logger.info({ signal }, 'shutting down');
    running.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // Announced once the handlers are in place: a supervisor may send SIGTERM as soon as it reads the line,
  // and one that came before them would kill the process without draining.
  console.log(`sluice listening on ${running.url}`);
}

async function check(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' } },
    strict: true,
  });
  if (values.config === undefined) throw new ConfigError('(none)', ['--config FILE is required']);
  const { path } = await load(values.config);
  console.log(`${path}: ok`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulate':
      return (await import('./simulator/command.js')).runSimulateCommand(rest);
    case 'check':
      return check(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage);
      return;
    default:
      console.error(`unknown command "${command}"\n${usage}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exitCode = 1;
  } else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exitCode = 2;
  } else {
    console.error((error as Error).message ?? error);
    process.exitCode = 1;
  }
});
