// SPDX-License-Identifier: Apache-2.0
// Honest health in the rollout core (issue 15): a device whose recent calls mostly fail fails the
// gate even while its instance runs (inputs came too seldom to crash-loop it), and a failure is
// never latched onto the revision that ends up stable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRollout, type DeviceReport } from '../../src/rollout/index.ts';
import { canary, failed, fleet, input, NEW, reasons, running, step } from './fixtures.ts';

/** Running, with `errors` of its last `calls` calls failed. */
const sporadic = (revision: string, calls: number, errors: number): DeviceReport => ({
  ...running(revision, calls, errors),
  recentCalls: calls,
  recentErrors: errors,
  lastError: 'Trap: unreachable',
});

describe('honest health in rollouts', () => {
  it('rolls back a canary whose every call fails although it never crash-loops (7 of 7, sporadic inputs)', () => {
    const settings = canary([{ percent: 25 }, { percent: 100 }]);
    const s0 = step(input(settings, fleet(8)), 1000, (_, r) =>
      r === NEW ? sporadic(NEW, 7, 7) : running(r),
    );
    const d = decideRollout(s0.next);
    assert.equal(d.phase, 'RolledBack');
    assert.match(d.message, /2 of 2 canary devices failed: CallsFailing$/);
  });

  it('lets a canary with the odd failed call through (2 of 20 recent calls)', () => {
    const settings = canary([{ percent: 25 }, { percent: 100 }]);
    const s0 = step(input(settings, fleet(8)), 1000, (_, r) =>
      r === NEW ? sporadic(NEW, 20, 2) : running(r),
    );
    const d = decideRollout(s0.next);
    assert.equal(d.phase, 'Progressing');
    assert.equal(d.progress.step, 1);
  });

  it('a first deployment that failed and recovered is Complete, without a failedRevision, and says so once', () => {
    const first = input(canary([{ percent: 100 }]), fleet(3), { currentRevision: undefined });
    const s0 = step(first, 1000, (t, r) =>
      t.name === 'dev-000' ? failed(r, 'Trap', 'CrashLoopBackOff') : running(r),
    );
    const s1 = step(s0.next, 1000, () => running(NEW, 25, 5));
    assert.equal(s1.decision.phase, 'Degraded');
    assert.equal(s1.decision.progress.failedRevision, NEW);
    const recovered = decideRollout(s1.next);
    assert.equal(recovered.phase, 'Complete');
    assert.equal(recovered.complete, true);
    assert.equal(recovered.progress.failedRevision, undefined);
    assert.deepEqual(reasons(recovered), ['Completed']);
    const again = decideRollout({ ...s1.next, progress: recovered.progress, now: s1.next.now + 1000 });
    assert.deepEqual([again.phase, again.events, again.progress], ['Complete', [], recovered.progress]);
  });

  it('a steady function never keeps a failure recorded for its own (stable) revision', () => {
    const d = decideRollout(
      input(canary([{ percent: 100 }]), fleet(2, { report: running(NEW) }), {
        currentRevision: NEW,
        progress: { revision: NEW, step: 0, stepStartedAt: 1, stepHealthyAt: 2, failedRevision: NEW },
      }),
    );
    assert.equal(d.phase, 'Complete');
    assert.deepEqual(d.progress, { revision: NEW, step: 0, stepStartedAt: 1, stepHealthyAt: 2 });
  });
});
