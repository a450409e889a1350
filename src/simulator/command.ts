// `sluice simulate`: runs the simulator until SIGTERM or SIGINT.
import { parseSimulatorFlags, simulatorUsage } from './options.js';
import type { SimulatorOptions } from './options.js';
import { startSimulator } from './server.js';

/**
 * Parses `argv` (the arguments after `simulate`), starts the simulator, prints its one ready line and
 * resolves once a signal has closed it, leaving process.exitCode 0. A bad flag prints the error to stderr
 * and sets process.exitCode to 2; a failure to listen (port taken) sets it to 1.
 */
export async function runSimulateCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(simulatorUsage);
    return;
  }
  let options: SimulatorOptions;
  try {
    options = parseSimulatorFlags(argv);
  } catch (error) {
    process.stderr.write(`sluice simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
    return;
  }
  let simulator;
  try {
    simulator = await startSimulator(options);
  } catch (error) {
    // Typically the port is taken: say so plainly instead of a stack trace.
    process.stderr.write(`sluice simulate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    return;
  }
  // The handlers are in place before the line that announces the port: a supervisor (or a test) may
  // signal as soon as it reads it, and a SIGTERM without a handler kills the process instead of closing it.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.stdout.write(`sluice simulator listening on ${simulator.url}\n`);
  await stopped;
  await simulator.close();
  process.exitCode = 0;
}
