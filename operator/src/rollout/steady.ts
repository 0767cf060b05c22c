// SPDX-License-Identifier: Apache-2.0
// No rollout in progress (currentRevision === updateRevision): every target runs it; a device
// that joins simply gets it, and the phase says Progressing until it confirms.
import { assignAll } from './assign.ts';
import { assessHealth } from './health.ts';
import { countsLine } from './message.ts';
import type { Outcome } from './outcome.ts';
import { freshProgress } from './progress.ts';
import type { RolloutInput } from './types.ts';

export function decideSteady(input: RolloutInput): Outcome {
  const { updateRevision: update, now } = input;
  const n = input.targets.length;
  const health = assessHealth(input.targets, update, undefined);
  const complete = health.ready === n;
  return {
    assignments: assignAll(input.targets, update),
    // Keep the finished rollout's record as it is, so an unchanged world writes nothing.
    progress: input.progress?.revision === update ? input.progress : freshProgress(update, now),
    phase: complete ? 'Complete' : 'Progressing',
    complete,
    errorRate: health.errorRate,
    message: complete ? `complete: all ${n} devices run ${update}` : countsLine(n, n, health),
  };
}
