// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRollout } from '../../src/rollout/index.ts';
import type { RolloutDecision, TargetDevice } from '../../src/rollout/index.ts';
import { fleet, holding, input, NEW, NO_CONTROLS, reasons, rolling, running, T0, told } from './fixtures.ts';

function inFlight(d: RolloutDecision, targets: readonly TargetDevice[]): number {
  return targets.filter(
    (t) => d.assignments.get(t.name) === NEW && !(t.report?.revision === NEW && t.report.phase === 'Running'),
  ).length;
}

describe('rolling update', () => {
  it('assigns at most maxUnavailable devices at once, and more as they confirm', () => {
    const settings = rolling({ count: 2 });
    const d0 = decideRollout(input(settings, fleet(6)));
    assert.equal(holding(d0).length, 2);
    assert.equal(d0.message, 'rolling update (2 at a time): 2/6 devices updated, 0 ready, 2 in flight');
    const targets = told(fleet(6), d0);
    // One of the two confirms: one slot frees.
    const first = holding(d0)[0]!;
    const one = targets.map((t) => (t.name === first ? { ...t, report: running(NEW) } : t));
    const d1 = decideRollout({ ...input(settings, one), progress: d0.progress, now: T0 + 1000 });
    assert.equal(holding(d1).length, 3);
    assert.equal(inFlight(d1, one), 2);
    for (const name of holding(d0)) assert.ok(holding(d1).includes(name));
    assert.equal(d1.progress.stepStartedAt, T0 + 1000, 'a new batch is progress');
  });

  it('a percentage budget is ceil(percent × N / 100), at least 1', () => {
    assert.equal(holding(decideRollout(input(rolling({ percent: 25 }), fleet(10)))).length, 3);
    assert.equal(holding(decideRollout(input(rolling({ percent: 1 }), fleet(10)))).length, 1);
  });

  it('offline devices holding the update count against the budget and catch up when back', () => {
    const settings = rolling({ percent: 25 }); // 3 of 10
    const targets = fleet(10).map((t, i) => (i < 2 ? { ...t, online: false, assigned: NEW } : t));
    const progress = { revision: NEW, step: 0, stepStartedAt: T0 };
    const d = decideRollout({ ...input(settings, targets), progress, now: T0 + 1_000_000 });
    assert.equal(holding(d).length, 3, 'two offline in flight leave one slot');
    assert.equal(inFlight(d, targets), 3);
    assert.equal(d.phase, 'Progressing', 'offline devices never trip the deadline');

    // The third confirms; the offline two still hold their slots.
    const third = holding(d).find((n) => !['dev-000', 'dev-001'].includes(n))!;
    const t2 = told(targets, d).map((t) => (t.name === third ? { ...t, report: running(NEW) } : t));
    const d2 = decideRollout({ ...input(settings, t2), progress: d.progress, now: T0 + 1_001_000 });
    assert.equal(inFlight(d2, t2), 3);
    assert.equal(holding(d2).length, 4);

    // Everyone else done, the offline two still out: never complete.
    const allButOffline = told(t2, d2).map((t) =>
      t.online ? { ...t, assigned: NEW, report: running(NEW) } : t,
    );
    const d3 = decideRollout({
      ...input(settings, allButOffline),
      progress: d2.progress,
      now: T0 + 5_000_000,
    });
    assert.equal(holding(d3).length, 10);
    assert.equal(d3.complete, false);
    assert.equal(d3.phase, 'Progressing');
    assert.match(d3.message, /waiting for 2 offline devices to return$/);

    // Back online, reporting the update: complete.
    const back = told(allButOffline, d3).map((t) => ({ ...t, online: true, report: running(NEW) }));
    const d4 = decideRollout({ ...input(settings, back), progress: d3.progress, now: T0 + 5_001_000 });
    assert.equal(d4.complete, true);
    assert.deepEqual(reasons(d4), ['Completed']);
  });

  it('fails a batch that makes no progress within the deadline', () => {
    const settings = rolling({ count: 2 }, { progressDeadlineMs: 60_000 });
    const d0 = decideRollout(input(settings, fleet(6)));
    const stuck = told(fleet(6), d0);
    const d1 = decideRollout({ ...input(settings, stuck), progress: d0.progress, now: T0 + 60_000 });
    assert.equal(d1.phase, 'RolledBack');
    assert.equal(
      d1.message,
      'rolled back to rev-old: progress deadline of 60s exceeded at rolling update (2 at a time) with 2 devices not ready',
    );
    assert.deepEqual(reasons(d1), ['ProgressDeadlineExceeded', 'RolledBack']);
  });

  it('promote assigns every device at once', () => {
    const d0 = decideRollout(input(rolling({ count: 1 }), fleet(5)));
    const d1 = decideRollout({
      ...input(rolling({ count: 1 }), told(fleet(5), d0)),
      progress: d0.progress,
      controls: { ...NO_CONTROLS, promote: true },
    });
    assert.equal(holding(d1).length, 5);
    assert.deepEqual(reasons(d1), ['Promoted']);
  });
});
