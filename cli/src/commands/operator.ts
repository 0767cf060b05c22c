// SPDX-License-Identifier: Apache-2.0
import { fileURLToPath } from 'node:url';
import { Command } from '@oclif/core';
import { OPERATOR_USAGE } from '@wasmfleet/operator';
import { runBinary } from './run-binary.ts';

const OPERATOR_BIN = fileURLToPath(new URL('../../../operator/bin/wasmfleet-operator.ts', import.meta.url));

export default class Operator extends Command {
  static override summary =
    'Run the operator against the current kubeconfig (the same program as wasmfleet-operator).';
  static override description = `Every flag below belongs to the operator:\n\n${OPERATOR_USAGE}`;
  static override strict = false;
  static override examples = ['<%= config.bin %> operator --broker mqtt://127.0.0.1:1883 --leader-elect'];

  public async run(): Promise<void> {
    await runBinary(OPERATOR_BIN, this.argv);
  }
}
