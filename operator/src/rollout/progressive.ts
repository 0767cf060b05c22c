// SPDX-License-Identifier: Apache-2.0
// A rollout from a stable revision to a new one: the latches and manual controls (rolled back,
// abort, pause, resume) wrapped around the strategy (canary steps or rolling batches).
import { assignAll, assignFrozen, countAssigned } from './assign.ts';
import { canaryView, decideCanary, effectiveSteps } from './canary.ts';
import type { StepView } from './transition-events.ts';
import type { Outcome } from './outcome.ts';
import { rolloutOrder } from './rollout-order.ts';
import { freshProgress, patch } from './progress.ts';
import { decideRolling, rollingBudget, rollingView } from './rolling.ts';
import type { RolloutInput, RolloutProgress } from './types.ts';

export function progressiveView(input: RolloutInput): StepView {
  const { policy } = input.settings;
  const n = input.targets.length;
  return policy.strategy === 'Canary'
    ? canaryView(effectiveSteps(policy.steps), n)
    : rollingView(rollingBudget(policy.maxUnavailable, n), n);
}

export function decideProgressive(input: RolloutInput, current: string, view: StepView): Outcome {
  const { updateRevision: update, controls, now } = input;
  // A progress for another revision is a superseded rollout: start over at step 0. Devices on the
  // superseded revision are not "kept" (they do not hold `update`), so they return to `current`.
  const start = input.progress?.revision === update ? input.progress : freshProgress(update, now);
  const failed = start.failedRevision === update;
  const where = view.label(start.step);

  if (failed && start.paused !== true) {
    // Rolled back (or aborted) stays so until the spec changes, which makes a new revision.
    const aborted = controls.abort;
    return {
      assignments: assignAll(input.targets, current),
      progress: start,
      phase: aborted ? 'Aborted' : 'RolledBack',
      complete: false,
      errorRate: undefined,
      message: aborted
        ? `aborted: every device back to ${current}`
        : `rolled back to ${current}: ${update} failed at ${where}; change the spec to roll out a new revision`,
    };
  }
  if (controls.abort) {
    return {
      assignments: assignAll(input.targets, current),
      progress: patch(start, { failedRevision: update, paused: undefined }),
      phase: 'Aborted',
      complete: false,
      errorRate: undefined,
      message: `aborted: every device back to ${current}`,
    };
  }
  if (controls.paused || (failed && !controls.promote && controls.gatePassedStep !== start.step)) {
    const assignments = assignFrozen(input.targets, update, current);
    const counts = `${countAssigned(assignments, update)}/${input.targets.length} devices updated`;
    return {
      assignments,
      progress: patch(start, { paused: true }),
      phase: 'Paused',
      complete: false,
      errorRate: undefined,
      message: failed
        ? `paused after a failure at ${where}: ${counts}; resume, promote or abort`
        : `paused at ${where}: ${counts}`,
    };
  }
  // Resuming (from spec.paused, or from a failure pause via resume/promote): the deadline clock
  // restarts, since time spent paused is not the rollout's fault.
  const resumed: RolloutProgress =
    start.paused === true
      ? patch(start, { paused: undefined, failedRevision: undefined, stepStartedAt: now })
      : start;

  const order = rolloutOrder(input.functionKey, input.targets, input.settings.waves);
  const { policy } = input.settings;
  return policy.strategy === 'Canary'
    ? decideCanary(input, current, order, effectiveSteps(policy.steps), resumed)
    : decideRolling(input, current, order, policy.maxUnavailable, resumed);
}
