// SPDX-License-Identifier: Apache-2.0
import { fileURLToPath } from 'node:url';
import { Command } from '@oclif/core';
import { OPERATOR_USAGE } from '@wasmfleet/operator';
import { chooseKubeconfig } from '../kube/context.ts';
import { runBinary } from '../run-binary.ts';

const OPERATOR_BIN = fileURLToPath(new URL('../../../operator/bin/wasmfleet-operator.ts', import.meta.url));

export default class Operator extends Command {
  static override summary =
    'Run the operator against the current kubeconfig (the same program as wasmfleet-operator).';
  static override description = `Every flag below belongs to the operator. Without --kubeconfig or KUBECONFIG it uses the running \`wasmfleet dev up\` stack, as every wasmfleet command does.\n\n${OPERATOR_USAGE}`;
  static override strict = false;
  static override examples = ['<%= config.bin %> operator --broker mqtt://127.0.0.1:1883 --leader-elect'];

  public async run(): Promise<void> {
    const given = this.argv.some((a) => a === '--kubeconfig' || a.startsWith('--kubeconfig='));
    const chosen = given ? undefined : chooseKubeconfig({});
    const env = chosen?.source === 'dev-stack' ? { ...process.env, KUBECONFIG: chosen.file } : process.env;
    await runBinary(OPERATOR_BIN, this.argv, env);
  }
}
