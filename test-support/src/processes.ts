// SPDX-License-Identifier: Apache-2.0
// Child processes for real parts (etcd, kube-apiserver, mosquitto) that can never outlive us.
//
// Each child is started through `setpriv --pdeathsig KILL`, so the kernel kills it the moment
// the process that started it dies — even on SIGKILL, where no JavaScript exit hook runs. On
// a normal exit or Ctrl-C the hooks below stop children gracefully first.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (for fault tests); resolves once the process is gone. */
  kill(): Promise<void>;
}

const running = new Set<ManagedProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous: send SIGKILL, the only thing that is certain to work.
  process.on('exit', () => {
    for (const p of running) p.child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...running].map((p) => p.stop(2_000))).finally(() => {
        process.kill(process.pid, signal);
      });
    });
  }
}

export interface SpawnOptions {
  readonly args: readonly string[];
  /** Output goes to this file (and is read back into error messages when startup fails). */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export function spawnManaged(name: string, command: string, options: SpawnOptions): ManagedProcess {
  installExitHooks();
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...options.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command}): is it installed?`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(managed);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      running.delete(managed);
      log.write(`spawn error: ${error.message}\n`);
      resolve('spawn-error');
    });
  });
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  const managed: ManagedProcess = { name, pid: child.pid, child, exited, stop, kill };
  running.add(managed);
  return managed;
}

/** True while a process with this pid exists (zombies included, which is why callers await exit). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
