// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRollout } from '../../src/rollout/index.ts';
import type { RolloutDecision, RolloutInput } from '../../src/rollout/index.ts';
import { canary, device, fleet, input, rolling, shuffled, step, told } from './fixtures.ts';

/** A decision with its map turned into sorted entries, so decisions compare by value. */
function plain(d: RolloutDecision): object {
  return { ...d, assignments: [...d.assignments].sort(([a], [b]) => (a < b ? -1 : 1)) };
}

/** Inputs at several points of several rollouts: fresh, mid-step, paused on a gate, waves. */
function scenarios(): RolloutInput[] {
  const waved = fleet(12).map((t, i) =>
    device(t.name, { labels: { ring: ['bench', 'site-a', 'site-b'][i % 3]! } }),
  );
  const starts = [
    input(canary([{ percent: 10 }, { percent: 33 }, { percent: 100 }]), fleet(17)),
    input(
      canary([{ percent: 20, manual: true }], { waves: { labelKey: 'ring', order: ['site-b', 'bench'] } }),
      waved,
    ),
    input(canary([{ percent: 50, pauseMs: 5000 }]), fleet(9)),
    input(rolling({ percent: 30 }), fleet(11)),
    input(rolling({ count: 2 }, { waves: { labelKey: 'ring', order: ['bench'] } }), waved),
  ];
  const out: RolloutInput[] = [];
  for (const start of starts) {
    let next = start;
    for (let i = 0; i < 4; i++) {
      out.push(next);
      next = step(next).next;
    }
  }
  return out;
}

describe('determinism', () => {
  it('shuffling the targets never changes the decision', () => {
    for (const [i, scenario] of scenarios().entries()) {
      const expected = plain(decideRollout(scenario));
      for (let seed = 1; seed <= 5; seed++) {
        const d = decideRollout({ ...scenario, targets: shuffled(scenario.targets, seed * 7919 + i) });
        assert.deepEqual(plain(d), expected, `scenario ${i}, seed ${seed}`);
      }
    }
  });

  it('the same input (say, after an operator restart) gives the same decision', () => {
    for (const scenario of scenarios()) {
      const restarted = structuredClone(scenario);
      assert.deepEqual(plain(decideRollout(restarted)), plain(decideRollout(scenario)));
    }
  });

  it('is idempotent: feeding back the returned progress with unchanged reports repeats it, with no events', () => {
    for (const [i, scenario] of scenarios().entries()) {
      const first = decideRollout(scenario);
      // As the reconciler sees it next: the documents say what was decided, reports are unchanged.
      for (const targets of [scenario.targets, told(scenario.targets, first)]) {
        const again = decideRollout({ ...scenario, targets, progress: first.progress });
        assert.deepEqual([...again.assignments].sort(), [...first.assignments].sort(), `scenario ${i}`);
        assert.deepEqual(again.progress, first.progress, `scenario ${i}`);
        assert.equal(again.phase, first.phase);
        assert.deepEqual(again.events, [], `scenario ${i}: ${again.events.map((e) => e.reason).join()}`);
      }
    }
  });
});
