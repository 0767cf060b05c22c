// SPDX-License-Identifier: Apache-2.0
// Builds RolloutProgress values. Optional fields are omitted rather than set to undefined, so a
// progress fed back unchanged compares deep-equal (and serialises) exactly like the one returned.
import type { RolloutProgress } from './types.ts';

export function freshProgress(revision: string, now: number): RolloutProgress {
  return { revision, step: 0, stepStartedAt: now };
}

export interface ProgressFields {
  readonly revision: string;
  readonly step: number;
  readonly stepStartedAt: number;
  readonly stepHealthyAt?: number | undefined;
  readonly failedRevision?: string | undefined;
  readonly paused?: boolean | undefined;
}

export function progress(fields: ProgressFields): RolloutProgress {
  return {
    revision: fields.revision,
    step: fields.step,
    stepStartedAt: fields.stepStartedAt,
    ...(fields.stepHealthyAt !== undefined ? { stepHealthyAt: fields.stepHealthyAt } : {}),
    ...(fields.failedRevision !== undefined ? { failedRevision: fields.failedRevision } : {}),
    ...(fields.paused === true ? { paused: true } : {}),
  };
}

/** A progress patched with `changes`; `undefined` in `changes` clears a field. */
export function patch(base: RolloutProgress, changes: Partial<ProgressFields>): RolloutProgress {
  return progress({ ...base, ...changes });
}

/** The rollout starts a new step (or resumes) now: the deadline clock restarts. */
export function startStep(base: RolloutProgress, step: number, now: number): RolloutProgress {
  return progress({ revision: base.revision, step, stepStartedAt: now });
}
