// SPDX-License-Identifier: Apache-2.0
import { functionRef } from '../../functions/read.ts';
import { PROMOTE } from '../../rollout/annotations.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { patchFunction } from '../../rollout/patch.ts';
import { activeRevision } from '../../rollout/active.ts';

export default class RolloutPromote extends RolloutCommand<typeof RolloutPromote> {
  static override summary = 'Skip the remaining steps: roll the update revision out to every device now.';
  static override description = `Sets the annotation ${PROMOTE}: "<updateRevision>". Health checks still apply to the devices that update.`;
  static override examples = ['<%= config.bin %> rollout promote temp-alert -n default'];
  static override args = functionArg;

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutPromote);
    if (await this.controlledAgentRollout(args.fn, 'promote')) return;
    const fn = await this.readTarget(args.fn);
    const update = activeRevision(fn, 'promote', this.nsHint);
    await this.change(args.fn, (kube) =>
      patchFunction(kube, args.fn, this.namespace, { annotations: { [PROMOTE]: update } }),
    );
    this.log(
      `${functionRef(args.fn)} promoted: revision ${update} goes to every device without further steps`,
    );
    if (fn.spec.paused) {
      this.logToStderr(
        `note: the function is paused; run \`wasmfleet rollout resume ${args.fn}${this.nsHint}\` too`,
      );
    }
  }
}
