/** Child processes of a bench run: started from the built CLI, each announcing its URL on one line. */
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface Service {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** Run by its shebang rather than by this process's node. */
  executable?: boolean;
  /** Send stdout to this file instead of a pipe. */
  logFile?: string;
  /** Pin to this CPU core (taskset). */
  core?: number;
  /** Variables added to the child's environment (OTEL_* for the observability phase). */
  env?: Record<string, string>;
}

/** Pins the calling process (and so every child started without a core of its own) to one core. */
export function pinSelf(core: number): boolean {
  try {
    execFileSync('taskset', ['-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a service and waits for its "listening on URL" line. With `logFile`, the child's stdout goes to
 * that file instead of a pipe: Sluice's access log then costs Sluice what writing a log file costs, not
 * the load generator's CPU spent reading a pipe (which would slow the very process measuring it).
 */
export async function startService(
  name: string,
  script: string,
  args: string[],
  pattern: RegExp,
  options: ServiceOptions = {},
): Promise<Service> {
  const out = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'w');
  const stdio: StdioOptions = ['ignore', out, 'pipe'];
  // An executable runs by its shebang (with the Node flags written there), on the node first on PATH.
  const env = {
    ...process.env,
    ...options.env,
    PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
  };
  const command = options.executable ? [script, ...args] : [process.execPath, script, ...args];
  // taskset execs the command in place, so the child's pid is the service's own (for /proc readings).
  const argv = options.core === undefined ? command : ['taskset', '-c', String(options.core), ...command];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio, env });
  if (typeof out === 'number') closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const found = (text: string): boolean => {
      const match = pattern.exec(text);
      if (match === null) return false;
      clearTimeout(timer);
      clearInterval(poll);
      resolve(match[1] as string);
      return true;
    };
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`${name} did not start: ${stderr}`));
    }, 15_000);
    const poll = setInterval(() => {
      if (options.logFile !== undefined) found(readFileSync(options.logFile, 'utf8'));
    }, 50);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (found(stdout)) stdout = '';
    });
    child.on('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`${name} exited with ${code}: ${stderr}`));
    });
  });
  // Keep draining a piped stdout so the child never blocks on a full pipe.
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  return {
    name,
    url,
    pid: child.pid as number,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/** Resident set size of a process in MB, from /proc. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc (clock ticks of 10 ms). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
