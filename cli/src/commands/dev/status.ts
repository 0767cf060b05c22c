// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { connectionLines } from '../../dev/connection-lines.ts';
import { DEV_CONTEXT, devDir, requireRunningStack } from '../../dev/state-file.ts';

export default class DevStatus extends WasmfleetCommand<typeof DevStatus> {
  static override summary = 'Say whether a `wasmfleet dev up` stack runs, and how to reach it.';
  static override description =
    'Prints the stack of $WASMFLEET_DEV_DIR (default ~/.wasmfleet/dev): its process, kubeconfig, broker and log, and the lines to export in another shell. Exits 1 when none runs.';
  static override examples = ['<%= config.bin %> dev status', '<%= config.bin %> dev status -o json'];
  static override flags = {
    output: Flags.option({
      char: 'o',
      options: ['text', 'json'] as const,
      default: 'text' as const,
      description: 'Output format.',
    })(),
  };

  public run(): Promise<void> {
    const state = requireRunningStack();
    if (this.flags.output === 'json') {
      process.stdout.write(`${JSON.stringify({ ...state, context: DEV_CONTEXT, dir: devDir() }, null, 2)}\n`);
      return Promise.resolve();
    }
    const up = Math.round((Date.now() - Date.parse(state.startedAt)) / 1000);
    this.log(`dev stack running (pid ${state.pid}, up ${up} s, in ${devDir()})`);
    this.log(`  kubeconfig: ${state.kubeconfig}`);
    this.log(`  broker:     ${state.broker}`);
    if (state.logFile) this.log(`  log:        ${state.logFile}`);
    this.log('From another shell:');
    for (const line of connectionLines(state.kubeconfig, state.broker)) this.log(line);
    return Promise.resolve();
  }
}
