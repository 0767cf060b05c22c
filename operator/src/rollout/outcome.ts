// SPDX-License-Identifier: Apache-2.0
// What each branch of the decision produces; `finish` adds the derived fields (percent, events)
// the same way for all of them.
import { countAssigned } from './assign.ts';
import { transitionEvents, type StepView } from './transition-events.ts';
import type { Outcome } from './outcome-shape.ts';
import type { RolloutDecision, RolloutInput } from './types.ts';

export type { Outcome };

export function finish(input: RolloutInput, outcome: Outcome, steps: StepView | undefined): RolloutDecision {
  const n = input.targets.length;
  const updated = countAssigned(outcome.assignments, input.updateRevision);
  const events =
    steps === undefined
      ? []
      : transitionEvents({
          before: input.progress,
          after: outcome.progress,
          phase: outcome.phase,
          complete: outcome.complete,
          failure: outcome.failure,
          promote: input.controls.promote,
          currentRevision: input.currentRevision,
          targets: n,
          steps,
        });
  return {
    assignments: outcome.assignments,
    progress: outcome.progress,
    phase: outcome.phase,
    complete: outcome.complete,
    // An empty target set has nothing left to update.
    percent: n === 0 ? 100 : Math.round((updated / n) * 100),
    errorRate: outcome.errorRate,
    message: outcome.message,
    events,
    ...(outcome.wakeAt !== undefined ? { wakeAt: outcome.wakeAt } : {}),
  };
}
