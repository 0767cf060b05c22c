// SPDX-License-Identifier: Apache-2.0
// Where `dev up` records what it started, so `dev down` (another process) can stop it.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export interface DevState {
  readonly pid: number;
  readonly kubeconfig: string;
  readonly broker: string;
  readonly pids: readonly number[];
  readonly startedAt: string;
  readonly logFile?: string;
}

export function devDir(): string {
  return process.env.WASMFLEET_DEV_DIR ?? path.join(homedir(), '.wasmfleet', 'dev');
}

const stateFile = () => path.join(devDir(), 'state.json');

export async function writeDevState(state: DevState): Promise<void> {
  await mkdir(devDir(), { recursive: true });
  await writeFile(stateFile(), JSON.stringify(state, null, 2));
}

export async function readDevState(): Promise<DevState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(), 'utf8')) as DevState;
  } catch {
    return undefined;
  }
}

export async function clearDevState(): Promise<void> {
  await rm(stateFile(), { force: true });
}
