// SPDX-License-Identifier: Apache-2.0
import { UserError } from '../../errors.ts';
import { functionRef } from '../../functions/read.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { patchFunction } from '../../rollout/patch.ts';

export default class RolloutPause extends RolloutCommand<typeof RolloutPause> {
  static override summary =
    'Pause a rollout: no further devices move to the new revision (sets spec.paused).';
  static override description =
    'Devices keep running what they run now. `wasmfleet rollout resume` continues from the same step.';
  static override examples = ['<%= config.bin %> rollout pause temp-alert -n default'];
  static override args = functionArg;

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutPause);
    if (await this.controlledAgentRollout(args.fn, 'pause')) return;
    const fn = await this.readTarget(args.fn);
    if (fn.spec.paused) {
      throw new UserError(`${functionRef(args.fn)} is already paused`, {
        hint: `continue it with \`wasmfleet rollout resume ${args.fn}${this.nsHint}\``,
      });
    }
    await this.change(args.fn, (kube) => patchFunction(kube, args.fn, this.namespace, { paused: true }));
    this.log(`${functionRef(args.fn)} paused`);
  }
}
