// SPDX-License-Identifier: Apache-2.0
// Events are derived from the transition between the progress the call was given and the one it
// returns — never from "what happened to be true this time" — so feeding a decision's progress
// back with an unchanged world yields no events, and a repeated reconcile never repeats one.
import type { RolloutEventReason } from '@wasmfleet/api';
import type { Failure } from './outcome-shape.ts';
import type { RolloutEvent, RolloutPhase, RolloutProgress } from './types.ts';

/** How steps are named and sized, for event messages. */
export interface StepView {
  readonly last: number;
  label(step: number): string;
  size(step: number): number;
}

export interface Transition {
  readonly before: RolloutProgress | undefined;
  readonly after: RolloutProgress;
  readonly phase: RolloutPhase;
  readonly complete: boolean;
  readonly failure: Failure | undefined;
  readonly promote: boolean;
  readonly currentRevision: string | undefined;
  readonly targets: number;
  readonly steps: StepView;
}

export function transitionEvents(t: Transition): RolloutEvent[] {
  const { before, after, steps } = t;
  const events: RolloutEvent[] = [];
  const fresh = before?.revision !== after.revision;
  const rev = after.revision;
  // failedRevision === revision means "this revision failed": with paused it is frozen (onFailure
  // Pause), without it the rollout ended (rolled back, aborted, or degraded for a new function).
  const failedBefore = !fresh && before.failedRevision === rev;
  const failedAfter = after.failedRevision === rev;
  const endedBefore = failedBefore && before.paused !== true;
  const endedAfter = failedAfter && after.paused !== true;
  const frozenBefore = failedBefore && before.paused === true;
  const frozenAfter = failedAfter && after.paused === true;

  if (fresh) {
    const from = t.currentRevision === undefined ? '' : ` (stable ${t.currentRevision})`;
    const superseding = before === undefined ? '' : `, superseding ${before.revision}`;
    events.push(
      normal(
        'StepStarted',
        `rolling out ${rev}${from}${superseding}: ${steps.label(0)}, ${devices(steps.size(0))}`,
      ),
    );
  }

  const fromStep = fresh ? 0 : before.step;
  if (after.step > fromStep && !failedAfter) {
    if (t.promote) events.push(normal('Promoted', `promoted ${rev}: all ${devices(t.targets)} updated`));
    else
      for (let s = fromStep + 1; s <= after.step; s++)
        events.push(normal('StepAdvanced', `${steps.label(s)} started: ${devices(steps.size(s))}`));
  }

  // A step that failed and then became healthy again (a first deployment that recovered) is news.
  const healthyBefore =
    !fresh && before.step === after.step && before.stepHealthyAt !== undefined && !failedBefore;
  if (after.stepHealthyAt !== undefined && !healthyBefore && !failedAfter) {
    if (t.complete) events.push(normal('Completed', `all ${devices(t.targets)} run ${rev}`));
    else events.push(normal('StepHealthy', `${steps.label(after.step)} healthy`));
  }

  const reason = t.failure?.reason ?? `${rev} failed`;
  if (t.failure?.deadline === true && !failedBefore) events.push(warning('ProgressDeadlineExceeded', reason));
  if (endedAfter && !endedBefore) {
    const to = t.currentRevision ?? 'nothing';
    if (t.phase === 'Aborted') events.push(warning('Aborted', `aborted ${rev}: every device back to ${to}`));
    else if (t.phase === 'Degraded') events.push(warning('Degraded', `${rev} is degraded: ${reason}`));
    else events.push(warning('RolledBack', `rolled back ${rev} to ${to}: ${reason}`));
  }
  if (frozenAfter && !frozenBefore) events.push(warning('Paused', `paused ${rev}: ${reason}`));

  const pausedBefore = !fresh && before.paused === true;
  if (after.paused === true && !failedAfter && !pausedBefore)
    events.push(normal('Paused', `paused at ${steps.label(after.step)}`));
  if (pausedBefore && after.paused !== true && !failedAfter)
    events.push(normal('Resumed', `resumed at ${steps.label(after.step)}`));

  return events;
}

function devices(n: number): string {
  return `${n} device${n === 1 ? '' : 's'}`;
}

function normal(reason: RolloutEventReason, message: string): RolloutEvent {
  return { type: 'Normal', reason, message };
}

function warning(reason: RolloutEventReason, message: string): RolloutEvent {
  return { type: 'Warning', reason, message };
}
