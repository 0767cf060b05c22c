// SPDX-License-Identifier: Apache-2.0
import { processExists } from '@wasmfleet/test-support';
import { WasmfleetCommand } from '../../base-command.ts';
import { UserError } from '../../errors.ts';
import { clearDevState, devDir, readDevState } from '../../dev/state-file.ts';

export default class DevDown extends WasmfleetCommand<typeof DevDown> {
  static override summary = 'Stop what `wasmfleet dev up` started; nothing is left running.';
  static override examples = ['<%= config.bin %> dev down'];

  public async run(): Promise<void> {
    const state = await readDevState();
    if (!state) {
      this.log(`no dev stack is running (nothing recorded in ${devDir()})`);
      return;
    }
    if (processExists(state.pid)) {
      process.kill(state.pid, 'SIGTERM');
      const deadline = Date.now() + 30_000;
      while (processExists(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (processExists(state.pid)) process.kill(state.pid, 'SIGKILL');
    }
    // Children die with their parent (pdeathsig); wait for the kernel to finish reaping them.
    const deadline = Date.now() + 10_000;
    while (state.pids.some(processExists) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const left = state.pids.filter(processExists);
    await clearDevState();
    if (left.length > 0) {
      throw new UserError(`these processes are still running: ${left.join(', ')}`, {
        hint: `kill them with: kill ${left.join(' ')}`,
      });
    }
    this.log('dev stack stopped; no process left behind');
  }
}
