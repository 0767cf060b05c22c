// SPDX-License-Identifier: Apache-2.0
// A brand-new function: nothing to protect, so every target gets it at once. There is no stable
// revision to roll back to, so a failure marks the rollout Degraded and devices keep it.
import { assignAll } from './assign.ts';
import type { StepView } from './transition-events.ts';
import { deadlineAt, deadlineFailure, healthFailure, type Failure } from './failure.ts';
import { assessHealth, isHealthy } from './health.ts';
import { countsLine, waitingNote } from './message.ts';
import type { Outcome } from './outcome.ts';
import { freshProgress, patch } from './progress.ts';
import type { RolloutInput } from './types.ts';

export function initialView(targets: number): StepView {
  return { last: 0, label: () => 'first deployment', size: () => targets };
}

export function decideInitial(input: RolloutInput): Outcome {
  const { updateRevision: update, now, settings } = input;
  const n = input.targets.length;
  const start = input.progress?.revision === update ? input.progress : freshProgress(update, now);
  const health = assessHealth(input.targets, update, settings.maxErrorRate);
  const assignments = assignAll(input.targets, update);
  const failure: Failure | undefined = input.controls.abort
    ? { reason: 'abort requested, but there is no previous revision to go back to', deadline: false }
    : (healthFailure(health, 'updated', settings.maxErrorRate) ??
      deadlineFailure(health, start, settings.progressDeadlineMs, now, 'first deployment'));

  if (failure) {
    return {
      assignments,
      progress: patch(start, { failedRevision: update }),
      phase: 'Degraded',
      complete: false,
      errorRate: health.errorRate,
      message: `degraded: ${failure.reason}; devices keep ${update} (no previous revision to roll back to)`,
      failure,
    };
  }
  if (isHealthy(health)) {
    return {
      assignments,
      progress: start.stepHealthyAt === undefined ? patch(start, { stepHealthyAt: now }) : start,
      phase: 'Complete',
      complete: true,
      errorRate: health.errorRate,
      message: `complete: all ${n} devices run ${update}`,
    };
  }
  return {
    assignments,
    progress: start,
    phase: 'Progressing',
    complete: false,
    errorRate: health.errorRate,
    message: `first deployment: ${countsLine(n, n, health)}${waitingNote(health)}`,
    wakeAt: deadlineAt(health, start, settings.progressDeadlineMs),
  };
}
