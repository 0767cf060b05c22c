// SPDX-License-Identifier: Apache-2.0
// Failure detection (health and progress deadline) and what a failure does (onFailure).
import { assignAll, assignFrozen } from './assign.ts';
import { formatRate, formatSeconds, plural } from './format.ts';
import type { Health } from './health.ts';
import type { Failure, Outcome } from './outcome-shape.ts';
import { patch } from './progress.ts';
import type { RolloutInput, RolloutProgress } from './types.ts';

export type { Failure };

/** Failed or crash-looping devices, or too many errors. `noun` names the devices ("canary"). */
export function healthFailure(
  health: Health,
  noun: string,
  maxErrorRate: number | undefined,
): Failure | undefined {
  if (health.failed.length > 0) {
    const reasons = [...new Set(health.failed.map((f) => f.reason))].sort().join(', ');
    return {
      reason: `${health.failed.length} of ${plural(health.updated, `${noun} device`)} failed: ${reasons}`,
      deadline: false,
    };
  }
  if (health.errorRateExceeded && health.errorRate !== undefined && maxErrorRate !== undefined) {
    return {
      reason: `error rate ${formatRate(health.errorRate)} of ${noun} devices exceeds maxErrorRate ${formatRate(maxErrorRate)}`,
      deadline: false,
    };
  }
  return undefined;
}

/**
 * When the deadline for the current step (or batch) falls, if it applies: only before the step is
 * healthy, and only while some online device is still not ready — offline devices catch up when
 * they return and must not fail a whole fleet's rollout.
 */
export function deadlineAt(
  health: Health,
  progress: RolloutProgress,
  deadlineMs: number,
): number | undefined {
  if (progress.stepHealthyAt !== undefined || health.waitingOnline === 0) return undefined;
  return progress.stepStartedAt + deadlineMs;
}

export function deadlineFailure(
  health: Health,
  progress: RolloutProgress,
  deadlineMs: number,
  now: number,
  where: string,
): Failure | undefined {
  const at = deadlineAt(health, progress, deadlineMs);
  if (at === undefined || now < at) return undefined;
  return { reason: `progress deadline of ${formatSeconds(deadlineMs)} exceeded at ${where}`, deadline: true };
}

/** onFailure: Rollback sends every target back to the stable revision; Pause freezes in place. */
export function failedOutcome(
  input: RolloutInput,
  current: string,
  progress: RolloutProgress,
  failure: Failure,
  errorRate: number | undefined,
): Outcome {
  const update = input.updateRevision;
  if (input.settings.onFailure === 'Pause') {
    return {
      assignments: assignFrozen(input.targets, update, current),
      progress: patch(progress, { failedRevision: update, paused: true }),
      phase: 'Paused',
      complete: false,
      errorRate,
      message: `paused: ${failure.reason}; resume, promote or abort`,
      failure,
    };
  }
  return {
    assignments: assignAll(input.targets, current),
    progress: patch(progress, { failedRevision: update, paused: undefined }),
    phase: 'RolledBack',
    complete: false,
    errorRate,
    message: `rolled back to ${current}: ${failure.reason}`,
    failure,
  };
}
