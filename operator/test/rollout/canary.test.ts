// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRollout } from '../../src/rollout/index.ts';
import { canary, device, fleet, holding, input, KEY, NEW, OLD, reasons, step, T0, told } from './fixtures.ts';

describe('canary steps', () => {
  const settings = canary([{ percent: 10 }, { percent: 50 }]);

  it('starts with ceil(percent × N / 100) devices and waits for them to report Running', () => {
    const d = decideRollout(input(settings, fleet(10)));
    assert.equal(holding(d).length, 1);
    assert.equal(holding(d, OLD).length, 9);
    assert.equal(d.phase, 'Progressing');
    assert.equal(d.percent, 10);
    assert.deepEqual(d.progress, { revision: NEW, step: 0, stepStartedAt: T0 });
    assert.deepEqual(reasons(d), ['StepStarted']);
    assert.equal(d.message, 'step 1/3 (10%): 1/10 devices updated, 0 ready');
    assert.equal(d.wakeAt, T0 + 600_000, 'wakes for the progress deadline');

    // Told but not yet reporting: still waiting, nothing new.
    const again = decideRollout({
      ...input(settings, told(fleet(10), d)),
      progress: d.progress,
      now: T0 + 5000,
    });
    assert.deepEqual(holding(again), holding(d));
    assert.deepEqual(reasons(again), []);
  });

  it('advances once the step is healthy; earlier devices stay updated', () => {
    const s0 = step(input(settings, fleet(10)));
    const s1 = step(s0.next);
    assert.equal(s1.decision.progress.step, 1);
    assert.deepEqual(reasons(s1.decision), ['StepAdvanced']);
    assert.equal(holding(s1.decision).length, 5);
    for (const name of holding(s0.decision)) assert.ok(holding(s1.decision).includes(name));
    assert.match(s1.decision.message, /^step 2\/3 \(50%\): 5\/10 devices updated, 1 ready/);
  });

  it('uneven percents (10/33/100 on 7 devices) reach all 7, and complete only when all confirm', () => {
    let next = input(canary([{ percent: 10 }, { percent: 33 }, { percent: 100 }]), fleet(7));
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = step(next);
      sizes.push(holding(s.decision).length);
      if (s.decision.complete) break;
      assert.notEqual(s.decision.phase, 'Complete');
      next = s.next;
    }
    assert.deepEqual(sizes, [1, 3, 7, 7]);
  });

  it('adds the implicit final 100% step when the last step is below 100%', () => {
    let next = input(canary([{ percent: 10 }, { percent: 33 }]), fleet(7));
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const s = step(next);
      seen.push(`${s.decision.progress.step}:${holding(s.decision).length}`);
      if (s.decision.complete) {
        assert.equal(s.decision.phase, 'Complete');
        assert.equal(s.decision.percent, 100);
        assert.deepEqual(reasons(s.decision), ['Completed']);
        break;
      }
      next = s.next;
    }
    assert.deepEqual(seen, ['0:1', '1:3', '2:7', '2:7']);
  });

  it('is not complete while one device of the final step has not confirmed', () => {
    const d = decideRollout(
      input(
        settings,
        [
          ...fleet(3, {
            assigned: NEW,
            report: { revision: NEW, phase: 'Running', invocations: 0, errors: 0 },
          }),
          device('late', {
            assigned: NEW,
            report: { revision: NEW, phase: 'Starting', invocations: 0, errors: 0 },
          }),
        ],
        {
          progress: { revision: NEW, step: 2, stepStartedAt: T0 },
        },
      ),
    );
    assert.equal(d.complete, false);
    assert.equal(d.phase, 'Progressing');
    assert.equal(holding(d).length, 4);
  });

  it('a pause step watches health for pauseMs after the step is healthy, and says when it wakes', () => {
    const paused = canary([{ percent: 10, pauseMs: 60_000 }, { percent: 100 }]);
    const s0 = step(input(paused, fleet(10)));
    const s1 = step(s0.next, 59_999);
    assert.equal(s1.decision.progress.stepHealthyAt, T0 + 1000);
    assert.equal(s1.decision.wakeAt, T0 + 61_000);
    assert.deepEqual(reasons(s1.decision), ['StepHealthy']);
    assert.match(s1.decision.message, /healthy, next step in 60s$/);
    const s2 = step(s1.next, 1);
    assert.equal(s2.decision.progress.step, 0, 'one millisecond early');
    assert.deepEqual(reasons(s2.decision), []);
    const s3 = step(s2.next);
    assert.equal(s3.decision.progress.step, 1);
    assert.deepEqual(reasons(s3.decision), ['StepAdvanced']);
  });

  it('a manual gate waits for `rollout resume` of that very step', () => {
    const gated = canary([{ percent: 10, manual: true }, { percent: 100 }]);
    const s1 = step(step(input(gated, fleet(10))).next);
    assert.equal(s1.decision.progress.step, 0);
    assert.match(s1.decision.message, /waiting for `wasmfleet rollout resume`$/);
    assert.equal(s1.decision.wakeAt, undefined, 'nothing to wake for: a person decides');
    const wrongStep = decideRollout({
      ...s1.next,
      controls: { paused: false, promote: false, abort: false, gatePassedStep: 1 },
    });
    assert.equal(wrongStep.progress.step, 0);
    const passed = decideRollout({
      ...s1.next,
      controls: { paused: false, promote: false, abort: false, gatePassedStep: 0 },
    });
    assert.equal(passed.progress.step, 1);
    assert.equal(holding(passed).length, 10);
  });

  it('chooses canaries stably per function, and different functions pick different devices', () => {
    const targets = fleet(20);
    const first = (key: string) => holding(decideRollout({ ...input(settings, targets), functionKey: key }));
    assert.deepEqual(first(KEY), first(KEY));
    const picks = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => first(`ns/${k}`).join()));
    assert.ok(picks.size > 1, 'hash order spreads functions over devices');
  });

  it('prefers online devices for canaries (an offline canary proves nothing)', () => {
    const targets = fleet(10, { online: false }).map((d, i) => (i === 7 ? { ...d, online: true } : d));
    assert.deepEqual(holding(decideRollout(input(settings, targets))), ['dev-007']);
  });

  it('goes wave by wave when waves are set: listed values in order, then the rest', () => {
    const ring = (name: string, value: string) => device(name, { labels: { ring: value } });
    const targets = [
      ring('s1', 'site'),
      ring('b1', 'bench'),
      ring('o1', 'other'),
      ring('b2', 'bench'),
      ring('s2', 'site'),
      device('x1'),
    ];
    const waved = canary([{ percent: 30 }, { percent: 60 }], {
      waves: { labelKey: 'ring', order: ['bench', 'site'] },
    });
    const s0 = step(input(waved, targets));
    assert.deepEqual(holding(s0.decision), ['b1', 'b2']);
    const s1 = step(s0.next);
    assert.deepEqual(holding(s1.decision), ['b1', 'b2', 's1', 's2']);
  });

  it('devices joining mid-rollout get the stable revision unless the stable order picks them', () => {
    const s0 = step(input(settings, fleet(4)));
    const s1 = step(s0.next); // step 2 (50%): 2 of 4
    const before = holding(s1.decision);
    assert.equal(before.length, 2);
    const grown = [
      ...s1.next.targets,
      device('new-a', { assigned: undefined, report: undefined }),
      device('new-b', { assigned: undefined, report: undefined }),
    ];
    const d = decideRollout({ ...s1.next, targets: grown });
    assert.equal(holding(d).length, 3, 'ceil(50% × 6) = 3');
    for (const name of before) assert.ok(holding(d).includes(name), 'already-updated devices stay');
    assert.equal(d.assignments.size, 6);
    for (const [name, rev] of d.assignments) assert.ok(rev === NEW || rev === OLD, name);
  });

  it('devices removed from the targets are simply absent', () => {
    const s0 = step(input(settings, fleet(10)));
    const fewer = s0.next.targets.slice(0, 5);
    const d = decideRollout({ ...s0.next, targets: fewer });
    assert.deepEqual([...d.assignments.keys()].sort(), fewer.map((t) => t.name).sort());
  });
});
