// SPDX-License-Identifier: Apache-2.0
// Child processes (etcd, kube-apiserver, agents, mosquitto) that can never outlive their parent.
//
// Each child is started through `setpriv --pdeathsig KILL`, so the kernel kills it the moment
// the process that started it dies, even on SIGKILL, where no JavaScript exit hook runs. Each
// child also gets a process group of its own: a Ctrl-C at the terminal reaches only the program
// the user started, which then stops its children in order (the operator before the API
// server), instead of every child at once. Signals belong to the program: nothing here installs
// a signal handler unless asked (`stopChildrenOnSignals`, for test processes).
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
let exitHookInstalled = false;
let signalHooksInstalled = false;

/** On any exit of this process, SIGKILL what is still running ('exit' handlers are synchronous). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of running) p.child.kill('SIGKILL');
  });
}

/**
 * For processes that own no signal handling of their own (test files): on SIGINT, SIGTERM or
 * SIGHUP, stop every managed child gracefully, then end with that signal as Node would have.
 * A program that handles signals itself (`wasmfleet dev up`) must not call this.
 */
export function stopChildrenOnSignals(): void {
  if (signalHooksInstalled) return;
  signalHooksInstalled = true;
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
  installExitHook();
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', command, ...options.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
    // A process group of its own (see the top of this file); pdeathsig still ties it to us.
    detached: true,
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
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const stop = async (graceMs = 5_000): Promise<void> => {
    if (gone()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async (): Promise<void> => {
    if (gone()) return;
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

/** Every pid is gone (used by teardown tests). */
export function allExited(pids: readonly number[]): boolean {
  return pids.every((pid) => !processExists(pid));
}
