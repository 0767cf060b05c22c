// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRollout } from '../../src/rollout/index.ts';
import type { DeviceReport, TargetDevice } from '../../src/rollout/index.ts';
import {
  canary,
  failed,
  fleet,
  holding,
  input,
  NEW,
  OLD,
  reasons,
  rolling,
  running,
  step,
  T0,
  told,
} from './fixtures.ts';

const badOnNew = (_: TargetDevice, r: string): DeviceReport => (r === NEW ? failed(NEW) : running(r));

describe('failure handling', () => {
  const settings = canary([{ percent: 25 }, { percent: 50 }]);

  it('rolls a bad canary back before the next step starts', () => {
    const s0 = step(input(settings, fleet(20)));
    const canaries = holding(s0.decision);
    assert.equal(canaries.length, 5);
    // Two canaries trap, three are fine.
    const next = {
      ...s0.next,
      targets: s0.next.targets.map((t) =>
        canaries.slice(0, 2).includes(t.name) ? { ...t, report: failed(NEW, 'Trap') } : t,
      ),
    };
    const d = decideRollout(next);
    assert.equal(d.phase, 'RolledBack');
    assert.deepEqual(holding(d), []);
    assert.equal(holding(d, OLD).length, 20);
    assert.equal(d.progress.failedRevision, NEW);
    assert.equal(d.progress.step, 0, 'never reached step 2');
    assert.deepEqual(d.events, [
      {
        type: 'Warning',
        reason: 'RolledBack',
        message: `rolled back ${NEW} to ${OLD}: 2 of 5 canary devices failed: Trap`,
      },
    ]);
    assert.equal(d.message, `rolled back to ${OLD}: 2 of 5 canary devices failed: Trap`);
  });

  it('stays rolled back while the spec is unchanged, even if devices recover', () => {
    const s0 = step(input(settings, fleet(8)), 1000, badOnNew);
    const s1 = step(s0.next, 1000, badOnNew);
    assert.equal(s1.decision.phase, 'RolledBack');
    let next = s1.next;
    for (let i = 0; i < 3; i++) {
      const healed = { ...next, targets: next.targets.map((t) => ({ ...t, report: running(NEW) })) };
      const d = decideRollout(healed);
      assert.equal(d.phase, 'RolledBack');
      assert.deepEqual(holding(d), []);
      assert.deepEqual(d.events, []);
      assert.deepEqual(d.progress, s1.decision.progress);
      next = { ...healed, now: healed.now + 60_000 };
    }
  });

  it('fails on CrashLoopBackOff too', () => {
    const s0 = step(input(settings, fleet(8)), 1000, (_, r) =>
      r === NEW ? failed(NEW, 'BackOff', 'CrashLoopBackOff') : running(r),
    );
    const d = decideRollout(s0.next);
    assert.equal(d.phase, 'RolledBack');
    assert.match(d.message, /2 of 2 canary devices failed: BackOff$/);
  });

  it('fails when the error rate of updated devices exceeds maxErrorRate, passes at or below it', () => {
    const limited = canary([{ percent: 25 }], { maxErrorRate: 0.1 });
    const s0 = step(input(limited, fleet(8)), 1000, (_, r) => running(r, 100, r === NEW ? 10 : 90));
    const ok = decideRollout(s0.next);
    assert.equal(ok.errorRate, 0.1, 'errors on the stable revision do not count');
    assert.equal(ok.progress.step, 1);
    assert.match(ok.message, /error rate 10%$/);

    const s0bad = step(input(limited, fleet(8)), 1000, (_, r) => running(r, 100, r === NEW ? 11 : 0));
    const bad = decideRollout(s0bad.next);
    assert.equal(bad.phase, 'RolledBack');
    assert.equal(bad.errorRate, 0.11);
    assert.match(bad.message, /error rate 11% of canary devices exceeds maxErrorRate 10%$/);
  });

  it('fails a step that makes no progress within the deadline', () => {
    const d0 = decideRollout(input(settings, fleet(8)));
    // The canary is online but stuck fetching.
    const stuck = told(fleet(8), d0).map((t) =>
      t.assigned === NEW
        ? { ...t, report: { revision: NEW, phase: 'Fetching', invocations: 0, errors: 0 } }
        : t,
    );
    const early = decideRollout({ ...input(settings, stuck), progress: d0.progress, now: T0 + 599_999 });
    assert.equal(early.phase, 'Progressing');
    assert.equal(early.wakeAt, T0 + 600_000);
    const late = decideRollout({ ...input(settings, stuck), progress: d0.progress, now: T0 + 600_000 });
    assert.equal(late.phase, 'RolledBack');
    assert.deepEqual(reasons(late), ['ProgressDeadlineExceeded', 'RolledBack']);
    assert.equal(late.message, `rolled back to ${OLD}: progress deadline of 600s exceeded at step 1/3 (25%)`);
  });

  it('does not let offline canaries trip the deadline: they catch up when back', () => {
    const offline = fleet(4, { online: false });
    const d0 = decideRollout(input(settings, offline));
    const waiting = decideRollout({
      ...input(settings, told(offline, d0)),
      progress: d0.progress,
      now: T0 + 3_600_000,
    });
    assert.equal(waiting.phase, 'Progressing');
    assert.equal(waiting.wakeAt, undefined);
    assert.match(waiting.message, /waiting for 1 offline device to return$/);
    const back = told(offline, d0).map((t) =>
      t.assigned === NEW ? { ...t, online: true, report: running(NEW) } : t,
    );
    const advanced = decideRollout({
      ...input(settings, back),
      progress: waiting.progress,
      now: T0 + 3_601_000,
    });
    assert.equal(advanced.progress.step, 1);
  });

  it('onFailure Pause freezes assignments; resume or promote continues', () => {
    const pausing = canary([{ percent: 25 }, { percent: 50 }], { onFailure: 'Pause' });
    const s0 = step(input(pausing, fleet(8)), 1000, badOnNew);
    const d = decideRollout(s0.next);
    assert.equal(d.phase, 'Paused');
    assert.deepEqual(holding(d), holding(s0.decision), 'the canaries keep the update');
    assert.equal(d.progress.paused, true);
    assert.equal(d.progress.failedRevision, NEW);
    assert.deepEqual(reasons(d), ['Paused']);
    assert.equal(d.events[0]?.type, 'Warning');

    const again = decideRollout({ ...s0.next, progress: d.progress, now: s0.next.now + 3_600_000 });
    assert.equal(again.phase, 'Paused');
    assert.deepEqual(again.events, []);
    assert.deepEqual(holding(again), holding(d));

    // The operator fixes the device (say, a config); resume at the failed step continues.
    const fixed = s0.next.targets.map((t) => (t.assigned === NEW ? { ...t, report: running(NEW) } : t));
    const resumed = decideRollout({
      ...s0.next,
      targets: fixed,
      progress: d.progress,
      controls: { paused: false, promote: false, abort: false, gatePassedStep: 0 },
    });
    assert.equal(resumed.phase, 'Progressing');
    assert.equal(resumed.progress.step, 1);
    assert.equal(resumed.progress.failedRevision, undefined);
    assert.deepEqual(reasons(resumed), ['StepAdvanced', 'Resumed']);

    const aborted = decideRollout({
      ...s0.next,
      progress: d.progress,
      controls: { paused: false, promote: false, abort: true },
    });
    assert.equal(aborted.phase, 'Aborted');
    assert.deepEqual(holding(aborted), []);
    assert.deepEqual(reasons(aborted), ['Aborted']);

    const promoted = decideRollout({
      ...s0.next,
      targets: fixed,
      progress: d.progress,
      controls: { paused: false, promote: true, abort: false },
    });
    assert.equal(holding(promoted).length, 8);
  });

  it('a brand-new function cannot roll back: Degraded, and devices keep it', () => {
    const fresh = fleet(4, { assigned: undefined, report: undefined });
    const d0 = decideRollout(input(settings, fresh, { currentRevision: undefined }));
    const s = told(fresh, d0).map((t, i) => ({ ...t, report: i === 0 ? failed(NEW) : running(NEW) }));
    const d = decideRollout(input(settings, s, { currentRevision: undefined, progress: d0.progress }));
    assert.equal(d.phase, 'Degraded');
    assert.equal(holding(d).length, 4);
    assert.deepEqual(reasons(d), ['Degraded']);
    assert.match(d.message, /^degraded: 1 of 4 updated devices failed: Trap; devices keep rev-new/);
    const again = decideRollout(input(settings, s, { currentRevision: undefined, progress: d.progress }));
    assert.deepEqual(again.events, []);
    assert.equal(again.phase, 'Degraded');
  });

  it('rolls a Rolling update back when an updated device fails', () => {
    const s0 = step(input(rolling({ count: 3 }), fleet(10)), 1000, badOnNew);
    const d = decideRollout(s0.next);
    assert.equal(d.phase, 'RolledBack');
    assert.deepEqual(holding(d), []);
    assert.match(d.message, /3 of 3 updated devices failed: Trap$/);
  });
});
