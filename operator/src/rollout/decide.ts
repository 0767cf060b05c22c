// SPDX-License-Identifier: Apache-2.0
// The rollout decision: which revision each targeted device should run, and where the rollout
// stands. Pure and deterministic — the reconciler calls it on every reconcile and persists the
// returned progress, so the same input always yields the same decision.
import { initialView, decideInitial } from './initial.ts';
import { finish } from './outcome.ts';
import { decideProgressive, progressiveView } from './progressive.ts';
import { decideSteady } from './steady.ts';
import type { RolloutDecision, RolloutInput } from './types.ts';

export function decideRollout(input: RolloutInput): RolloutDecision {
  const current = input.currentRevision;
  if (current === undefined) return finish(input, decideInitial(input), initialView(input.targets.length));
  // Nothing to roll out: no steps, so no events.
  if (current === input.updateRevision) return finish(input, decideSteady(input), undefined);
  const view = progressiveView(input);
  return finish(input, decideProgressive(input, current, view), view);
}
