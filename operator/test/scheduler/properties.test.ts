// SPDX-License-Identifier: Apache-2.0
// Property-based tests: the scheduler's promises over thousands of small random fleets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { reschedule, schedule } from '../../src/scheduler/index.ts';
import type { ScheduleResult } from '../../src/scheduler/index.ts';
import { change, makeNode, nodeBody, scenario, toChanges, type Scenario } from './arbitraries.ts';
import { currentOf, T0 } from './fixtures.ts';
import { checkInvariants, checkMaximal, mayPlace, mayStay } from './invariants.ts';

// Kept small: the machine is shared, and small fleets find collisions faster than big ones.
const RUNS = { numRuns: 1000 };

const full = (s: Scenario, now = T0) => schedule({ ...s, now });

/** What callers see: placements, removals and when to wake up. */
function visible(r: ScheduleResult) {
  return { placements: r.placements, removals: r.removals, nextWakeAt: r.nextWakeAt };
}

describe('scheduler properties', () => {
  it('never over capacity, never on a non-matching or untolerated node', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 0, max: 600_000 }), (s, dt) => {
        checkInvariants(full(s, T0 + dt), s.functions, s.nodes, s.current, T0 + dt);
      }),
      RUNS,
    );
  });

  it('short functions have no usable node with room left (replicas exact when possible)', () => {
    fc.assert(
      fc.property(scenario, (s) => checkMaximal(full(s), s.functions, s.nodes)),
      RUNS,
    );
  });

  it('with room to spare, replicas are exactly min(N, usable nodes)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const roomy = s.nodes.map((n) => ({ ...n, capacity: { functions: 100, memoryBytes: 2 ** 40 } }));
        const r = full({ ...s, nodes: roomy });
        for (const f of s.functions.filter((x) => x.mode === 'Replicas')) {
          const before = s.current.get(f.key) ?? [];
          const usable = roomy.filter(
            (n) => mayStay(f, n, T0) && (before.includes(n.name) || mayPlace(f, n)),
          );
          assert.equal(
            r.placements.get(f.key)?.nodes.length,
            Math.min(f.replicas ?? 1, usable.length),
            f.key,
          );
        }
      }),
      RUNS,
    );
  });

  it('stable: re-running on its own output changes nothing', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const first = full(s);
        const again = schedule({ ...s, current: currentOf(first), now: T0 });
        assert.deepEqual(again.placements, first.placements);
        assert.deepEqual(again.removals, []);
      }),
      RUNS,
    );
  });

  it('stable: adding a node moves nothing that was placed', () => {
    fc.assert(
      fc.property(scenario, nodeBody, (s, body) => {
        const first = full(s);
        const grown = schedule({
          ...s,
          nodes: [...s.nodes, makeNode('new', body)],
          current: currentOf(first),
          now: T0,
        });
        assert.deepEqual(grown.removals, []);
        for (const [key, p] of first.placements) {
          for (const name of p.nodes)
            assert.ok(grown.placements.get(key)?.nodes.includes(name), `${key} left ${name}`);
        }
      }),
      RUNS,
    );
  });

  it('deterministic: input order does not matter', () => {
    fc.assert(
      fc.property(scenario, fc.infiniteStream(fc.nat()), (s, noise) => {
        const shuffle = <T>(xs: readonly T[]): T[] =>
          xs
            .map((x) => ({ x, k: noise.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map(({ x }) => x);
        const reordered = {
          functions: shuffle(s.functions),
          nodes: shuffle(s.nodes),
          current: new Map(shuffle([...s.current]).map(([k, v]) => [k, shuffle(v)] as const)),
        };
        assert.deepEqual(visible(full(reordered)), visible(full(s)));
      }),
      RUNS,
    );
  });

  it('incremental == full, over sequences of changes', () => {
    fc.assert(
      fc.property(scenario, fc.array(change, { minLength: 1, maxLength: 5 }), (s, changes) => {
        let functions = new Map(s.functions.map((f) => [f.key, f]));
        let nodes = new Map(s.nodes.map((n) => [n.name, n]));
        let now = T0;
        let result = full(s);
        for (const c of changes) {
          const delta = toChanges(c, now);
          const incremental = reschedule(result, delta);
          for (const n of delta.removeNodes ?? []) nodes.delete(n);
          for (const n of delta.upsertNodes ?? []) nodes.set(n.name, n);
          for (const f of delta.removeFunctions ?? []) functions.delete(f);
          for (const f of delta.upsertFunctions ?? []) functions.set(f.key, f);
          [functions, nodes, now] = [new Map(functions), new Map(nodes), delta.now ?? now];
          const expected = schedule({
            functions: [...functions.values()],
            nodes: [...nodes.values()],
            current: currentOf(result),
            now,
          });
          assert.deepEqual(visible(incremental), visible(expected), `after ${JSON.stringify(c)}`);
          assert.deepEqual(incremental.state.usage, expected.state.usage);
          assert.deepEqual(incremental.state.watched, expected.state.watched);
          checkInvariants(incremental, [...functions.values()], [...nodes.values()], currentOf(result), now);
          result = incremental;
        }
      }),
      { numRuns: 1500 },
    );
  });
});
