// SPDX-License-Identifier: Apache-2.0
// Rolling: at most maxUnavailable devices switching at once, walking the stable order.
import { assignSplit } from './assign.ts';
import type { StepView } from './transition-events.ts';
import { deadlineAt, deadlineFailure, failedOutcome, healthFailure } from './failure.ts';
import { plural } from './format.ts';
import { assessHealth, isHealthy, isReady } from './health.ts';
import { countsLine, waitingNote } from './message.ts';
import type { Outcome } from './outcome.ts';
import { patch, startStep } from './progress.ts';
import type { RolloutInput, RolloutPolicy, RolloutProgress, TargetDevice } from './types.ts';

type MaxUnavailable = Extract<RolloutPolicy, { strategy: 'Rolling' }>['maxUnavailable'];

/** Progress step for Rolling: 0 while batching, 1 once promoted (everyone at once). */
export const PROMOTED_STEP = 1;

export function rollingBudget(maxUnavailable: MaxUnavailable, targets: number): number {
  const raw =
    'count' in maxUnavailable ? maxUnavailable.count : Math.ceil((maxUnavailable.percent * targets) / 100);
  return Math.max(1, raw);
}

export function rollingView(budget: number, targets: number): StepView {
  return {
    last: PROMOTED_STEP,
    label: (i) => (i === 0 ? `rolling update (${budget} at a time)` : 'rolling update (promoted)'),
    size: (i) => (i === 0 ? Math.min(budget, targets) : targets),
  };
}

/**
 * Devices that hold the update stay; in-flight ones (assigned, not yet reporting it Running —
 * offline ones included) use the budget; free slots go to the next devices in the stable order.
 */
export function selectRolling(
  order: readonly TargetDevice[],
  update: string,
  budget: number,
): TargetDevice[] {
  const chosen = new Set(order.filter((d) => d.assigned === update));
  let inFlight = [...chosen].filter((d) => !isReady(d, update)).length;
  for (const d of order) {
    if (chosen.has(d)) continue;
    // A device already reporting the update (its document was lost) costs no budget.
    if (isReady(d, update)) chosen.add(d);
    else if (inFlight < budget) {
      chosen.add(d);
      inFlight++;
    }
  }
  return order.filter((d) => chosen.has(d));
}

export function decideRolling(
  input: RolloutInput,
  current: string,
  order: readonly TargetDevice[],
  maxUnavailable: MaxUnavailable,
  start: RolloutProgress,
): Outcome {
  const { updateRevision: update, controls, now, settings } = input;
  const n = input.targets.length;
  const budget = rollingBudget(maxUnavailable, n);
  const view = rollingView(budget, n);
  let p = controls.promote && start.step < PROMOTED_STEP ? startStep(start, PROMOTED_STEP, now) : start;
  const updated = p.step >= PROMOTED_STEP ? [...order] : selectRolling(order, update, budget);
  // Assigning more devices is progress: the deadline counts from the latest batch.
  if (updated.some((d) => d.assigned !== update))
    p = patch(p, { stepStartedAt: now, stepHealthyAt: undefined });

  const health = assessHealth(updated, update, settings.maxErrorRate);
  const label = view.label(p.step);
  const failure =
    healthFailure(health, 'updated', settings.maxErrorRate) ??
    deadlineFailure(
      health,
      p,
      settings.progressDeadlineMs,
      now,
      `${label} with ${plural(health.waitingOnline, 'device')} not ready`,
    );
  if (failure) return failedOutcome(input, current, p, failure, health.errorRate);

  const assignments = assignSplit(input.targets, new Set(updated.map((d) => d.name)), update, current);
  if (updated.length === n && isHealthy(health)) {
    return {
      assignments,
      progress: p.stepHealthyAt === undefined ? patch(p, { stepHealthyAt: now }) : p,
      phase: 'Complete',
      complete: true,
      errorRate: health.errorRate,
      message: `complete: all ${n} devices run ${update}`,
    };
  }
  const inFlight = health.updated - health.ready;
  return {
    assignments,
    progress: p,
    phase: 'Progressing',
    complete: false,
    errorRate: health.errorRate,
    message: `${label}: ${countsLine(updated.length, n, health)}, ${inFlight} in flight${waitingNote(health)}`,
    wakeAt: deadlineAt(health, p, settings.progressDeadlineMs),
  };
}
