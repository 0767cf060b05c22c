// SPDX-License-Identifier: Apache-2.0
// Where `wasmfleet dev up` keeps what it runs and records what it started, so that `dev down`,
// `dev status` and every other command (another process) can find it.
//
//   $WASMFLEET_DEV_DIR (default ~/.wasmfleet/dev)/
//     state.json   the running stack: its pid and that process's start time, kubeconfig, broker
//     kubeconfig   the local control plane's, at this same path on every start (context wasmfleet-dev)
//     run/         certificates, the admin token, etcd's data, the agents' data; removed on stop
//     dev-up.log   the log of a detached stack (rotated at 1 MiB into dev-up.log.1)
//
// A pid alone is not proof: after a reboot or a crash it may belong to someone else's process
// (even the user's shell). A recorded stack counts as running only while a process with that
// pid exists AND started at the recorded time, so nothing ever signals a stranger.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.ts';

export interface DevState {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly pidStartTime: string | undefined;
  readonly kubeconfig: string;
  readonly broker: string;
  readonly pids: readonly number[];
  readonly startedAt: string;
  readonly logFile?: string | undefined;
}

export function devDir(): string {
  const own = process.env.WASMFLEET_DEV_DIR;
  return own !== undefined && own !== '' ? own : path.join(homedir(), '.wasmfleet', 'dev');
}

export const devPaths = () => ({
  state: path.join(devDir(), 'state.json'),
  kubeconfig: path.join(devDir(), 'kubeconfig'),
  run: path.join(devDir(), 'run'),
  log: path.join(devDir(), 'dev-up.log'),
});

/** The context name in the dev stack's kubeconfig, the same on every start. */
export const DEV_CONTEXT = 'wasmfleet-dev';

/** The start time of a live process (Linux /proc), or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while the recorded process runs: same pid, same start time. */
export function isAlive(pid: number, startTime: string | undefined): boolean {
  const now = processStartTime(pid);
  return now !== undefined && startTime !== undefined && now === startTime;
}

export async function writeDevState(state: DevState): Promise<void> {
  await mkdir(devDir(), { recursive: true });
  await writeFile(devPaths().state, JSON.stringify(state, null, 2), { mode: 0o600 });
}

export async function readDevState(): Promise<DevState | undefined> {
  try {
    return JSON.parse(await readFile(devPaths().state, 'utf8')) as DevState;
  } catch {
    return undefined;
  }
}

/** The recorded stack when it is still running; synchronous, for resolving the kubeconfig. */
export function runningDevStateSync(): DevState | undefined {
  try {
    const state = JSON.parse(readFileSync(devPaths().state, 'utf8')) as DevState;
    return isAlive(state.pid, state.pidStartTime) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The running stack, or an error that says how to start one. */
export function requireRunningStack(): DevState {
  const state = runningDevStateSync();
  if (!state) {
    throw new UserError(`no dev stack is running (nothing live recorded in ${devDir()})`, {
      hint: 'start one with `wasmfleet dev up` (or scripts/dev-up)',
    });
  }
  return state;
}

export async function clearDevState(): Promise<void> {
  await rm(devPaths().state, { force: true });
}

/** After a stack that was killed (SIGKILL, a crash): drop its record and its run directory. */
export async function clearStaleDevState(): Promise<void> {
  await clearDevState();
  await rm(devPaths().run, { recursive: true, force: true });
  await rm(devPaths().kubeconfig, { force: true });
}
