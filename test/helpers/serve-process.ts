/**
 * `sluice serve` as a process of its own, started from the compiled CLI as an operator runs it: for tests
 * that need real replicas (separate event loops, separate connections to the state backend).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/** Enough of a process's output to explain a failure, without holding a noisy one's whole log. */
const outputLimit = 64 * 1024;

export interface ServeProcess {
  /** e.g. http://127.0.0.1:40123, from the process's `sluice listening on` line. */
  url: string;
  child: ChildProcess;
  /** The last 64 KiB the process wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, SIGKILL after `killAfterMs` if it is still running; resolves once it has exited. */
  stop(killAfterMs?: number): Promise<void>;
}

/** Spawns `sluice serve --config <path> --port 0` and waits for its listening line. */
export async function startServeProcess(configPath: string, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', configPath, '--port', '0'], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Both pipes are always drained: a child whose pipe fills blocks on its next write.
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > outputLimit) output = output.slice(-outputLimit);
  };
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (killAfterMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
  };
  let listening: string | undefined = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sluice serve printed no listening line in ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        append(chunk);
        if (listening === undefined) return;
        listening += chunk.toString('utf8');
        const match = /sluice listening on (http:\/\/\S+)/.exec(listening);
        if (match) {
          listening = undefined;
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
      child.once('error', (error) => (clearTimeout(timer), reject(error)));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`sluice serve exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
    return { url, child, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
