// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { effectiveSteps, stepSize } from '../../src/rollout/canary.ts';
import type {
  DeviceReport,
  RolloutDecision,
  RolloutInput,
  RolloutSettings,
  TargetDevice,
} from '../../src/rollout/index.ts';
import { rollingBudget } from '../../src/rollout/rolling.ts';
import { canary, failed, fleet, NEW, rolling, running } from './fixtures.ts';
import { simulate } from './simulate.ts';

// ---------------------------------------------------------------- arbitraries

const settingsArb: fc.Arbitrary<RolloutSettings> = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        fc.record({ count: fc.integer({ min: 1, max: 6 }) }),
        fc.record({ percent: fc.integer({ min: 1, max: 100 }) }),
      ),
      fc.constantFrom<'Rollback' | 'Pause'>('Rollback', 'Pause'),
    )
    .map(([maxUnavailable, onFailure]) => rolling(maxUnavailable, { onFailure })),
  fc
    .tuple(
      fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }), {
        minLength: 4,
        maxLength: 4,
      }),
      fc.constantFrom<'Rollback' | 'Pause'>('Rollback', 'Pause'),
    )
    .map(([percents, pauses, onFailure]) =>
      canary(
        [...percents]
          .sort((a, b) => a - b)
          .map((percent, i) => ({ percent, ...(pauses[i] !== undefined ? { pauseMs: pauses[i] } : {}) })),
        { onFailure },
      ),
    ),
);

interface World {
  readonly settings: RolloutSettings;
  readonly n: number;
  /** Ticks each device needs to start a revision. */
  readonly startTicks: readonly number[];
  /** Devices that fail on the update revision (empty: a good revision). */
  readonly bad: readonly number[];
  /** Bad devices run the update for a tick before failing (else they fail on their first report). */
  readonly lateFailure: boolean;
  /** Per device, an offline window [from, to) in ticks. */
  readonly offline: readonly (readonly [number, number] | undefined)[];
}

const worldArb: fc.Arbitrary<World> = fc.integer({ min: 1, max: 30 }).chain((n) =>
  fc.record({
    settings: settingsArb,
    n: fc.constant(n),
    startTicks: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
    bad: fc.oneof(
      fc.constant([]),
      fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n }),
    ),
    lateFailure: fc.boolean(),
    offline: fc.array(
      fc.option(
        fc
          .tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 15 }))
          .map(([a, len]): [number, number] => [a, a + len]),
        { nil: undefined, freq: 3 },
      ),
      { minLength: n, maxLength: n },
    ),
  }),
);

function index(name: string): number {
  return Number(name.slice(4));
}

function behaviourOf(world: World): (name: string, revision: string, ticks: number) => DeviceReport {
  return (name, revision, ticks) => {
    const i = index(name);
    if (revision === NEW && world.bad.includes(i) && ticks >= (world.lateFailure ? 1 : 0))
      return failed(NEW, 'Trap');
    if (ticks < (world.startTicks[i] ?? 0)) return { revision, phase: 'Starting', invocations: 0, errors: 0 };
    return running(revision);
  };
}

function onlineOf(world: World): (name: string, tick: number) => boolean {
  return (name, tick) => {
    const w = world.offline[index(name)];
    return w === undefined || tick < w[0] || tick >= w[1];
  };
}

const ready = (t: TargetDevice) => t.report?.revision === NEW && t.report.phase === 'Running';

function run(world: World, check: (decision: RolloutDecision, input: RolloutInput) => void) {
  return simulate({
    settings: world.settings,
    targets: fleet(world.n),
    behaviour: behaviourOf(world),
    online: onlineOf(world),
    maxTicks: 300,
    allowUnsettled: true,
    check,
  });
}

const RUNS = { numRuns: 150 };

// ---------------------------------------------------------------- properties

describe('rollout properties', () => {
  it('Rolling: never more than maxUnavailable devices in flight', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { policy } = world.settings;
        if (policy.strategy !== 'Rolling') return;
        const budget = rollingBudget(policy.maxUnavailable, world.n);
        run(world, (d, input) => {
          const inFlight = input.targets.filter((t) => d.assignments.get(t.name) === NEW && !ready(t)).length;
          // A device that ran the update and then failed is in flight again by no decision of the
          // rollout's; what matters is that no decision hands out an update beyond the budget.
          const handsOut = input.targets.some((t) => d.assignments.get(t.name) === NEW && t.assigned !== NEW);
          if (world.bad.length === 0 || handsOut)
            assert.ok(inFlight <= budget, `${inFlight} in flight > ${budget}`);
        });
      }),
      RUNS,
    );
  });

  it("Canary: the updated count never exceeds the current step's count", () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const { policy } = world.settings;
        if (policy.strategy !== 'Canary') return;
        const steps = effectiveSteps(policy.steps);
        run(world, (d) => {
          const held = [...d.assignments.values()].filter((r) => r === NEW).length;
          const size = stepSize(steps[d.progress.step]!, world.n);
          assert.ok(held <= size, `${held} updated > ${size} at step ${d.progress.step}`);
        });
      }),
      RUNS,
    );
  });

  it('the set of updated devices only grows within a revision, until a rollback', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        let before = new Set<string>();
        run(world, (d) => {
          const held = new Set([...d.assignments].filter(([, r]) => r === NEW).map(([n]) => n));
          if (d.phase === 'RolledBack' || d.phase === 'Aborted') {
            before = new Set();
            return;
          }
          for (const name of before) assert.ok(held.has(name), `${name} lost the update`);
          before = held;
        });
      }),
      RUNS,
    );
  });

  it('complete ⇒ every target reports the update Running', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        run(world, (d, input) => {
          if (d.complete) assert.ok(input.targets.every(ready));
          assert.equal(d.complete, d.phase === 'Complete');
        });
      }),
      RUNS,
    );
  });

  it('a good revision always completes, on every device', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const r = run({ ...world, bad: [] }, () => undefined);
        assert.equal(r.last.phase, 'Complete', r.last.message);
        assert.ok(r.targets.every(ready));
      }),
      RUNS,
    );
  });

  it('a revision that fails on every device never reaches more than the first step', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const all = { ...world, bad: world.startTicks.map((_, i) => i), lateFailure: false };
        const r = run(all, () => undefined);
        const { policy, onFailure } = world.settings;
        assert.equal(r.last.phase, onFailure === 'Rollback' ? 'RolledBack' : 'Paused', r.last.message);
        const first =
          policy.strategy === 'Canary'
            ? stepSize(effectiveSteps(policy.steps)[0]!, world.n)
            : rollingBudget(policy.maxUnavailable, world.n);
        assert.ok(r.everUpdated.size <= first, `${r.everUpdated.size} devices ever got it > ${first}`);
        if (onFailure === 'Rollback') assert.ok(r.targets.every((t) => t.assigned !== NEW));
      }),
      RUNS,
    );
  });
});
