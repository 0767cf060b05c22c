// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { WasmfleetCommand } from '../../base-command.ts';
import { requireRunningStack } from '../../dev/state-file.ts';

export default class DevEnv extends WasmfleetCommand<typeof DevEnv> {
  static override summary =
    'Print the shell lines that point kubectl and MQTT tools at the running dev stack.';
  static override description =
    'KUBECONFIG for kubectl (wasmfleet itself finds the stack without it) and WASMFLEET_BROKER. Use it with eval; --unset prints the lines that undo it.';
  static override examples = [
    'eval "$(<%= config.bin %> dev env)" && kubectl get wasmfunctions',
    'eval "$(<%= config.bin %> dev env --unset)"',
  ];
  static override flags = {
    unset: Flags.boolean({ description: 'Print `unset` lines instead.' }),
  };

  public run(): Promise<void> {
    if (this.flags.unset) {
      this.log('unset KUBECONFIG WASMFLEET_BROKER');
      return Promise.resolve();
    }
    const state = requireRunningStack();
    this.log(`export KUBECONFIG=${shellQuote(state.kubeconfig)}`);
    this.log(`export WASMFLEET_BROKER=${shellQuote(state.broker)}`);
    return Promise.resolve();
  }
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
