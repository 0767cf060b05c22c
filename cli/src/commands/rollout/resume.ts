// SPDX-License-Identifier: Apache-2.0
import { UserError } from '../../errors.ts';
import { functionRef } from '../../functions/read.ts';
import { GATE_PASSED, gatePassedValue } from '../../rollout/annotations.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { patchFunction } from '../../rollout/patch.ts';

export default class RolloutResume extends RolloutCommand<typeof RolloutResume> {
  static override summary = 'Resume a paused rollout, or pass the manual gate it waits at.';
  static override description = `Clears spec.paused. When the rollout waits at a step with \`gate: Manual\`, it also records that this step's gate is passed (annotation ${GATE_PASSED}: "<updateRevision>/<step>"), so the operator moves on to the next step.`;
  static override examples = ['<%= config.bin %> rollout resume temp-alert -n default'];
  static override args = functionArg;

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutResume);
    if (await this.controlledAgentRollout(args.fn, 'resume')) return;
    const fn = await this.readTarget(args.fn);
    const paused = fn.spec.paused ?? false;
    const rollout = fn.status?.rollout;
    const atGate = rollout?.waitingForGate ?? false;
    if (!paused && !atGate) {
      throw new UserError(`${functionRef(args.fn)} is not paused and not waiting at a manual gate`, {
        hint: `see where it is with \`wasmfleet rollout status ${args.fn}${this.nsHint}\`; \`wasmfleet rollout promote ${args.fn}\` skips the remaining steps`,
      });
    }
    const update = fn.status?.updateRevision;
    if (atGate && !update) {
      throw new UserError(`${functionRef(args.fn)} waits at a gate but its status names no update revision`, {
        hint: 'the operator has not finished recording the rollout; try again in a moment',
      });
    }
    const step = rollout?.step ?? 0;
    await this.change(args.fn, (kube) =>
      patchFunction(kube, args.fn, this.namespace, {
        ...(paused ? { paused: false } : {}),
        ...(atGate && update ? { annotations: { [GATE_PASSED]: gatePassedValue(update, step) } } : {}),
        // Refuse if the rollout moved on since we read which step waits.
        ...(atGate && fn.metadata.resourceVersion ? { resourceVersion: fn.metadata.resourceVersion } : {}),
      }),
    );
    if (paused) this.log(`${functionRef(args.fn)} resumed`);
    if (atGate)
      this.log(
        `${functionRef(args.fn)} passed the manual gate of step ${step + 1} (revision ${update ?? ''})`,
      );
  }
}
