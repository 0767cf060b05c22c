// SPDX-License-Identifier: Apache-2.0
// No rollout in progress (currentRevision === updateRevision): every target runs it; a device
// that joins simply gets it, and the phase says Progressing until it confirms. A device that
// fails its stable revision is a health matter (the function's Degraded condition), not a
// rollout's: there is nothing to roll back to, so the rollout stays Complete once every device
// has reported the revision, ready or failing.
import { assignAll } from './assign.ts';
import { assessHealth } from './health.ts';
import { countsLine } from './message.ts';
import type { Outcome } from './outcome.ts';
import { freshProgress, patch } from './progress.ts';
import type { RolloutInput } from './types.ts';

export function decideSteady(input: RolloutInput): Outcome {
  const { updateRevision: update, now } = input;
  const n = input.targets.length;
  const health = assessHealth(input.targets, update, undefined);
  const complete = health.ready + health.failed.length === n;
  const failing = health.failed.length > 0 ? `, ${health.failed.length} failing` : '';
  return {
    assignments: assignAll(input.targets, update),
    // Keep the finished rollout's record as it is, so an unchanged world writes nothing — but
    // never a failure of the revision that is now the stable one.
    progress:
      input.progress?.revision !== update
        ? freshProgress(update, now)
        : input.progress.failedRevision === update
          ? patch(input.progress, { failedRevision: undefined, paused: undefined })
          : input.progress,
    phase: complete ? 'Complete' : 'Progressing',
    complete,
    errorRate: health.errorRate,
    message: complete ? `complete: all ${n} devices run ${update}${failing}` : countsLine(n, n, health),
  };
}
