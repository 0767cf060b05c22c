// SPDX-License-Identifier: Apache-2.0
// Canary: steps by percent of the targets, each gated on health and then a pause or a manual gate.
import { assignSplit } from './assign.ts';
import type { StepView } from './transition-events.ts';
import { deadlineAt, deadlineFailure, failedOutcome, healthFailure } from './failure.ts';
import { formatSeconds } from './format.ts';
import { assessHealth, isHealthy } from './health.ts';
import { countsLine, waitingNote } from './message.ts';
import type { Outcome } from './outcome.ts';
import { patch, startStep } from './progress.ts';
import type { CanaryStepPolicy, RolloutInput, RolloutProgress, TargetDevice } from './types.ts';

/** The configured steps plus the implicit final 100 % step, so uneven percents still reach everyone. */
export function effectiveSteps(steps: readonly CanaryStepPolicy[]): readonly CanaryStepPolicy[] {
  const last = steps.at(-1);
  return last !== undefined && last.percent >= 100 ? steps : [...steps, { percent: 100 }];
}

/** Devices in a step: ceil(percent × N / 100), so a 1 % step on 7 devices still updates one. */
export function stepSize(step: CanaryStepPolicy, targets: number): number {
  return Math.min(targets, Math.ceil((step.percent * targets) / 100));
}

export function canaryView(steps: readonly CanaryStepPolicy[], targets: number): StepView {
  return {
    last: steps.length - 1,
    label: (i) => `step ${i + 1}/${steps.length} (${steps[i]?.percent ?? 100}%)`,
    size: (i) => stepSize(steps[i] ?? { percent: 100 }, targets),
  };
}

/**
 * The step's devices: those already holding the update first (earlier steps stay updated; capped
 * at the step's size so a stale document can never widen the blast radius), then the next ones
 * in the stable order.
 */
export function selectCanary(order: readonly TargetDevice[], update: string, size: number): TargetDevice[] {
  const kept = new Set(order.filter((d) => d.assigned === update).slice(0, size));
  const fill = order.filter((d) => d.assigned !== update).slice(0, size - kept.size);
  for (const d of fill) kept.add(d);
  return order.filter((d) => kept.has(d));
}

export function decideCanary(
  input: RolloutInput,
  current: string,
  order: readonly TargetDevice[],
  steps: readonly CanaryStepPolicy[],
  start: RolloutProgress,
): Outcome {
  const { updateRevision: update, controls, now, settings } = input;
  const n = input.targets.length;
  const view = canaryView(steps, n);
  let p = start.step > view.last ? startStep(start, view.last, now) : start;
  // Promote jumps to the final (100 %) step; health still has to hold for completion.
  if (controls.promote && p.step < view.last) p = startStep(p, view.last, now);

  // Advancing may pass several steps in one call when the next step is already healthy (e.g. an
  // empty fleet); each iteration moves forward, so the loop ends at the last step at the latest.
  for (;;) {
    const step = steps[p.step] ?? { percent: 100 };
    const label = view.label(p.step);
    const updated = selectCanary(order, update, stepSize(step, n));
    const health = assessHealth(updated, update, settings.maxErrorRate);
    const failure =
      healthFailure(health, 'canary', settings.maxErrorRate) ??
      deadlineFailure(health, p, settings.progressDeadlineMs, now, label);
    if (failure) return failedOutcome(input, current, p, failure, health.errorRate);

    const assignments = assignSplit(input.targets, new Set(updated.map((d) => d.name)), update, current);
    const counts = `${label}: ${countsLine(updated.length, n, health)}`;
    const base = { assignments, errorRate: health.errorRate, complete: false, phase: 'Progressing' as const };
    if (!isHealthy(health))
      return {
        ...base,
        progress: p,
        message: counts + waitingNote(health),
        wakeAt: deadlineAt(health, p, settings.progressDeadlineMs),
      };

    if (p.stepHealthyAt === undefined) p = patch(p, { stepHealthyAt: now });
    const healthyAt = p.stepHealthyAt ?? now;
    if (p.step === view.last)
      return {
        ...base,
        progress: p,
        phase: 'Complete',
        complete: true,
        message: `complete: all ${n} devices run ${update}`,
      };
    if (step.manual === true && controls.gatePassedStep !== p.step)
      return {
        ...base,
        progress: p,
        message: `${counts}; healthy, waiting for \`wasmfleet rollout resume\``,
      };
    if (step.pauseMs !== undefined && now < healthyAt + step.pauseMs)
      return {
        ...base,
        progress: p,
        message: `${counts}; healthy, next step in ${formatSeconds(healthyAt + step.pauseMs - now)}`,
        wakeAt: healthyAt + step.pauseMs,
      };
    p = startStep(p, p.step + 1, now);
  }
}
