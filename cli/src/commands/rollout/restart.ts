// SPDX-License-Identifier: Apache-2.0
import { functionRef } from '../../functions/read.ts';
import { RESTARTED_AT, rfc3339 } from '../../rollout/annotations.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { patchFunction } from '../../rollout/patch.ts';

export default class RolloutRestart extends RolloutCommand<typeof RolloutRestart> {
  static override summary = 'Restart the function on every device, through a normal rollout.';
  static override description = `Sets the annotation ${RESTARTED_AT} to the current time (RFC 3339), which makes a new revision that rolls out with the function's strategy.`;
  static override examples = ['<%= config.bin %> rollout restart temp-alert -n plant-1'];
  static override args = functionArg;

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutRestart);
    await this.readTarget(args.fn);
    const at = rfc3339(new Date());
    await this.change(args.fn, (kube) =>
      patchFunction(kube, args.fn, this.namespace, { annotations: { [RESTARTED_AT]: at } }),
    );
    this.log(`${functionRef(args.fn)} restarted (${RESTARTED_AT}=${at})`);
  }
}
