// SPDX-License-Identifier: Apache-2.0
import { processExists } from '@wasmfleet/local-stack';
import { WasmfleetCommand } from '../../base-command.ts';
import { UserError } from '../../errors.ts';
import { clearStaleDevState, devDir, isAlive, readDevState } from '../../dev/state-file.ts';

export default class DevDown extends WasmfleetCommand<typeof DevDown> {
  static override summary = 'Stop what `wasmfleet dev up` started; nothing is left running.';
  static override description =
    'Sends the running `dev up` SIGTERM (as Ctrl-C does in its terminal): it stops the devices, the operator, the broker and then the control plane, and removes its data. Only that process is signalled, and only while it is the one recorded in $WASMFLEET_DEV_DIR (default ~/.wasmfleet/dev).';
  static override examples = [
    '<%= config.bin %> dev down',
    'WASMFLEET_DEV_DIR=~/.wasmfleet/dev-2 <%= config.bin %> dev down',
  ];

  public async run(): Promise<void> {
    const state = await readDevState();
    if (!state) {
      this.log(`no dev stack is running (nothing recorded in ${devDir()})`);
      return;
    }
    if (!isAlive(state.pid, state.pidStartTime)) {
      await clearStaleDevState();
      this.log(
        `no dev stack is running (the one recorded in ${devDir()} had already ended; its files are removed)`,
      );
      return;
    }
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isAlive(state.pid, state.pidStartTime) && Date.now() < deadline) await sleep(100);
    if (isAlive(state.pid, state.pidStartTime)) {
      throw new UserError(`dev up (pid ${state.pid}) is still stopping after 60 s`, {
        hint: `see its log${state.logFile ? ` (${state.logFile})` : ''}; \`kill -9 ${state.pid}\` ends it and everything it started`,
      });
    }
    // Its children die with it at the latest (pdeathsig); wait for the kernel to reap them.
    const reaped = Date.now() + 10_000;
    while (state.pids.some(processExists) && Date.now() < reaped) await sleep(100);
    const left = state.pids.filter(processExists);
    if (left.length > 0) {
      throw new UserError(`these processes of the dev stack are still running: ${left.join(', ')}`, {
        hint: `kill them with: kill ${left.join(' ')}`,
      });
    }
    this.log('dev stack stopped; no process left behind');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
