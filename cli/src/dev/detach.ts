// SPDX-License-Identifier: Apache-2.0
// `dev up --detach`: starts `dev up --no-view` as a background process (its own session, its
// output in $WASMFLEET_DEV_DIR/dev-up.log) and waits until it has recorded itself as running.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { processExists } from '@wasmfleet/local-stack';
import { UserError } from '../errors.ts';
import { devDir, devPaths, readDevState, type DevState } from './state-file.ts';

/** A cold first start builds the control plane: minutes on a small machine. */
const READY_WITHIN_MS = 20 * 60_000;

export async function detachDevUp(argv: readonly string[]): Promise<DevState> {
  await mkdir(devDir(), { recursive: true });
  const logFile = devPaths().log;
  await writeFile(logFile, '');
  // Appending, so that the rotation's truncation (log-rotation.ts) moves the writers to the new end.
  const out = openSync(logFile, 'a');
  const args = [...argv.filter((a) => a !== '--detach' && a !== '-d'), '--no-view'];
  const entry = process.argv[1] ?? '';
  const child = spawn(process.execPath, [...process.execArgv, entry, 'dev', 'up', ...args], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, NO_COLOR: '1', WASMFLEET_DEV_LOG_FILE: logFile },
  });
  closeSync(out);
  child.unref();
  // Ctrl-C while waiting: the background stack is stopped too (it would be a surprise left running).
  const stop = (): void => {
    if (child.pid !== undefined && processExists(child.pid)) process.kill(child.pid, 'SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', stop);
  try {
    return await waitUntilUp(child.pid, () => child.exitCode !== null, logFile);
  } finally {
    process.off('SIGINT', stop);
  }
}

async function waitUntilUp(
  pid: number | undefined,
  exited: () => boolean,
  logFile: string,
): Promise<DevState> {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    const state = await readDevState();
    if (state && state.pid === pid) return state;
    if (exited() || pid === undefined || !processExists(pid)) {
      throw new UserError(
        `dev up exited before it was ready; the end of ${logFile}:\n${await logTail(logFile)}`,
        {
          hint: 'run `wasmfleet dev up` in the foreground to watch it start',
        },
      );
    }
    if (Date.now() > deadline) {
      throw new UserError(
        `dev up did not become ready within ${READY_WITHIN_MS / 60_000} minutes; see ${logFile}`,
        {
          hint: 'it is still running in the background: `wasmfleet dev down` stops it',
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The last lines of the background log: why it stopped, without a second command (as `systemctl status`). */
async function logTail(logFile: string, lines = 30): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines);
  return tail.map((line) => `  ${line}`).join('\n');
}
