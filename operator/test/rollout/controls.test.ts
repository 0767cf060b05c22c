// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRollout } from '../../src/rollout/index.ts';
import {
  canary,
  device,
  fleet,
  holding,
  input,
  NEW,
  NO_CONTROLS,
  OLD,
  reasons,
  running,
  step,
  T0,
} from './fixtures.ts';

const NEWER = 'rev-newer';
const settings = canary([{ percent: 10 }, { percent: 50 }]);

describe('manual controls', () => {
  it('pause freezes assignments and the deadline; resume continues where it stood', () => {
    const s1 = step(step(input(settings, fleet(10))).next); // step 2: 5 devices told
    // The step's devices are still starting when the rollout is paused.
    const starting = { revision: NEW, phase: 'Starting', invocations: 0, errors: 0 };
    const stuck = {
      ...s1.next,
      targets: s1.next.targets.map((t) => (t.assigned === NEW ? { ...t, report: starting } : t)),
    };
    const paused = decideRollout({ ...stuck, controls: { ...NO_CONTROLS, paused: true } });
    assert.equal(paused.phase, 'Paused');
    assert.deepEqual(holding(paused), holding(s1.decision));
    assert.equal(paused.progress.paused, true);
    assert.deepEqual(reasons(paused), ['Paused']);
    assert.match(paused.message, /^paused at step 2\/3 \(50%\): 5\/10 devices updated$/);

    // Hours later, still paused: nothing moves, nothing fails, no events.
    const later = decideRollout({
      ...stuck,
      progress: paused.progress,
      now: T0 + 86_400_000,
      controls: { ...NO_CONTROLS, paused: true },
    });
    assert.equal(later.phase, 'Paused');
    assert.deepEqual(later.events, []);
    assert.deepEqual(holding(later), holding(paused));

    // Resumed: the deadline clock restarts, so the long pause does not fail the rollout.
    const resumed = decideRollout({ ...stuck, progress: later.progress, now: T0 + 86_400_000 });
    assert.equal(resumed.phase, 'Progressing');
    assert.deepEqual(reasons(resumed), ['Resumed']);
    assert.equal(resumed.progress.stepStartedAt, T0 + 86_400_000);
    assert.equal(resumed.progress.paused, undefined);
  });

  it('pause keeps a newly joined device on the stable revision', () => {
    const s0 = step(input(settings, fleet(10)));
    const joined = [...s0.next.targets, device('late', { assigned: undefined, report: undefined })];
    const d = decideRollout({ ...s0.next, targets: joined, controls: { ...NO_CONTROLS, paused: true } });
    assert.equal(d.assignments.get('late'), OLD);
  });

  it('promote updates every target at once, and completes only when all confirm', () => {
    const s0 = step(input(settings, fleet(10)));
    const promote = { ...NO_CONTROLS, promote: true };
    const p = step({ ...s0.next, controls: promote });
    assert.equal(holding(p.decision).length, 10);
    assert.equal(p.decision.phase, 'Progressing');
    assert.equal(p.decision.complete, false);
    assert.equal(p.decision.progress.step, 2, 'jumps to the final step, so it sticks without the flag');
    assert.deepEqual(reasons(p.decision), ['Promoted']);
    const done = decideRollout({ ...p.next, controls: NO_CONTROLS });
    assert.equal(done.complete, true);
    assert.deepEqual(reasons(done), ['Completed']);
  });

  it('abort sends every target back to the stable revision and stays there', () => {
    const s1 = step(step(input(settings, fleet(10))).next);
    const abort = { ...NO_CONTROLS, abort: true };
    const d = decideRollout({ ...s1.next, controls: abort });
    assert.equal(d.phase, 'Aborted');
    assert.deepEqual(holding(d), []);
    assert.equal(d.progress.failedRevision, NEW);
    assert.deepEqual(d.events, [
      { type: 'Warning', reason: 'Aborted', message: `aborted ${NEW}: every device back to ${OLD}` },
    ]);
    const again = decideRollout({ ...s1.next, progress: d.progress, controls: abort });
    assert.equal(again.phase, 'Aborted');
    assert.deepEqual(again.events, []);
    const promoted = decideRollout({
      ...s1.next,
      progress: d.progress,
      controls: { ...NO_CONTROLS, promote: true },
    });
    assert.deepEqual(holding(promoted), [], 'an aborted revision is not retried until the spec changes');
  });

  it('abort of a brand-new function has nothing to go back to: Degraded, devices keep it', () => {
    const d = decideRollout(
      input(settings, fleet(3, { assigned: undefined, report: undefined }), {
        currentRevision: undefined,
        controls: { ...NO_CONTROLS, abort: true },
      }),
    );
    assert.equal(d.phase, 'Degraded');
    assert.equal(holding(d).length, 3);
    assert.match(d.message, /no previous revision/);
  });

  it('a newer revision mid-rollout supersedes: step 0 again, the rest back on the stable revision', () => {
    const s1 = step(step(input(settings, fleet(10))).next); // 5 devices on rev-new
    assert.equal(holding(s1.decision).length, 5);
    const d = decideRollout({ ...s1.next, updateRevision: NEWER });
    assert.deepEqual(holding(d, NEW), [], 'nobody stays on the superseded revision');
    assert.equal(holding(d, NEWER).length, 1);
    assert.equal(holding(d, OLD).length, 9);
    assert.deepEqual(d.progress, { revision: NEWER, step: 0, stepStartedAt: s1.next.now });
    assert.deepEqual(reasons(d), ['StepStarted']);
    assert.match(d.events[0]?.message ?? '', /superseding rev-new/);
  });

  it('a superseding edit while paused also moves devices off the superseded revision', () => {
    const s1 = step(step(input(settings, fleet(10))).next);
    const d = decideRollout({
      ...s1.next,
      updateRevision: NEWER,
      controls: { ...NO_CONTROLS, paused: true },
    });
    assert.equal(d.phase, 'Paused');
    assert.equal(holding(d, OLD).length, 10);
  });
});

describe('no rollout in progress', () => {
  it('current === update: every target runs it; Progressing until a joining device confirms', () => {
    const targets = [
      ...fleet(3, { assigned: NEW, report: running(NEW) }),
      device('joined', { assigned: undefined, report: undefined }),
    ];
    const d = decideRollout(input(settings, targets, { currentRevision: NEW }));
    assert.equal(holding(d).length, 4);
    assert.equal(d.phase, 'Progressing');
    assert.equal(d.complete, false);
    assert.deepEqual(d.events, []);
    const confirmed = targets.map((t) => ({ ...t, assigned: NEW, report: running(NEW) }));
    const done = decideRollout(input(settings, confirmed, { currentRevision: NEW, progress: d.progress }));
    assert.equal(done.phase, 'Complete');
    assert.equal(done.complete, true);
    assert.deepEqual(done.progress, d.progress, 'an unchanged world changes nothing');
  });

  it('a brand-new function goes to every target at once and completes when all report Running', () => {
    const fresh = fleet(5, { assigned: undefined, report: undefined });
    const s0 = step(input(settings, fresh, { currentRevision: undefined }));
    assert.equal(holding(s0.decision).length, 5);
    assert.deepEqual(reasons(s0.decision), ['StepStarted']);
    const done = decideRollout(s0.next);
    assert.equal(done.complete, true);
    assert.deepEqual(reasons(done), ['Completed']);
  });
});
