// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceReport } from '../../src/rollout/index.ts';
import { canary, failed, NEW, OLD, rolling, running } from './fixtures.ts';
import { simulate } from './simulate.ts';

const allOn = (revision: string) => (t: { report: DeviceReport | undefined }) =>
  t.report?.revision === revision && t.report.phase === 'Running';

/** Devices take two ticks to start whatever they are told. */
const slowStart = (_: string, revision: string, ticks: number): DeviceReport =>
  ticks < 2 ? { revision, phase: 'Starting', invocations: 0, errors: 0 } : running(revision, ticks * 10);

describe('simulated fleet', () => {
  it('a healthy canary with pauses reaches every device and completes', () => {
    const r = simulate({
      settings: canary([{ percent: 10, pauseMs: 5000 }, { percent: 50 }]),
      n: 40,
      behaviour: slowStart,
    });
    assert.equal(r.last.phase, 'Complete');
    assert.ok(r.targets.every(allOn(NEW)));
    assert.deepEqual(r.events, ['StepStarted', 'StepHealthy', 'StepAdvanced', 'StepAdvanced', 'Completed']);
  });

  it('a healthy rolling update completes without more than the budget in flight', () => {
    const r = simulate({ settings: rolling({ percent: 20 }), n: 25, behaviour: slowStart });
    assert.equal(r.last.phase, 'Complete');
    assert.ok(r.targets.every(allOn(NEW)));
  });

  it('a bad canary (the new module traps) is rolled back; only the first step ever got it', () => {
    const trapping = (name: string, revision: string, ticks: number): DeviceReport =>
      revision === NEW && ticks >= 1
        ? failed(NEW, 'Trap')
        : slowStart(name, revision, revision === NEW ? 0 : 2);
    const r = simulate({ settings: canary([{ percent: 10 }, { percent: 50 }]), n: 30, behaviour: trapping });
    assert.equal(r.last.phase, 'RolledBack');
    assert.ok(r.targets.every(allOn(OLD)), 'every device back on the stable revision');
    assert.equal(r.everUpdated.size, 3, 'ceil(10% × 30)');
    assert.deepEqual(r.events, ['StepStarted', 'RolledBack']);
  });

  it('a canary that starts fine and traps a little later is caught during the step pause', () => {
    const lateTrap = (_: string, revision: string, ticks: number): DeviceReport =>
      revision === NEW && ticks >= 3 ? failed(NEW, 'Trap') : running(revision);
    const r = simulate({
      settings: canary([{ percent: 10, pauseMs: 10_000 }, { percent: 50 }]),
      n: 30,
      behaviour: lateTrap,
    });
    assert.equal(r.last.phase, 'RolledBack');
    assert.equal(r.everUpdated.size, 3);
    assert.deepEqual(r.events, ['StepStarted', 'StepHealthy', 'RolledBack']);
  });

  it('a canary that only errors (no crash) is caught by maxErrorRate', () => {
    const erroring = (_: string, revision: string, ticks: number): DeviceReport =>
      running(revision, 100 * (ticks + 1), revision === NEW ? 50 * (ticks + 1) : 0);
    const r = simulate({
      settings: canary([{ percent: 20, pauseMs: 3000 }], { maxErrorRate: 0.05 }),
      n: 10,
      behaviour: erroring,
    });
    assert.equal(r.last.phase, 'RolledBack');
    assert.equal(r.everUpdated.size, 2);
  });
});
