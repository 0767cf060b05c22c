// SPDX-License-Identifier: Apache-2.0
import { functionRef } from '../../functions/read.ts';
import { ABORT } from '../../rollout/annotations.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { patchFunction } from '../../rollout/patch.ts';
import { activeRevision } from '../../rollout/active.ts';

export default class RolloutAbort extends RolloutCommand<typeof RolloutAbort> {
  static override summary = 'Stop the rollout and move every device back to the current (stable) revision.';
  static override description = `Sets the annotation ${ABORT}: "<updateRevision>". The spec stays as it is; run \`wasmfleet rollout undo\` to also put the previous spec back.`;
  static override examples = ['<%= config.bin %> rollout abort temp-alert -n default'];
  static override args = functionArg;

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutAbort);
    if (await this.controlledAgentRollout(args.fn, 'abort')) return;
    const fn = await this.readTarget(args.fn);
    const update = activeRevision(fn, 'abort', this.nsHint);
    await this.change(args.fn, (kube) =>
      patchFunction(kube, args.fn, this.namespace, { annotations: { [ABORT]: update } }),
    );
    this.log(
      `${functionRef(args.fn)} rollout of revision ${update} aborted; devices return to revision ${fn.status?.currentRevision ?? '<current>'}`,
    );
  }
}
