// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reschedule, schedule } from '../../src/scheduler/index.ts';
import { assigned, fn, MiB, node, placementOf, replicas, T0 } from './fixtures.ts';

const site = (s: string) => ({ selector: { matchLabels: { site: s } } });

describe('reschedule (incremental)', () => {
  const nodes = [
    node('a', { labels: { site: 'p1' } }),
    node('b', { labels: { site: 'p1' } }),
    node('c', { labels: { site: 'p2' } }),
  ];
  const functions = [fn('ns/e1', site('p1')), fn('ns/e2', site('p2')), replicas('ns/r', 1, site('p1'))];
  const base = schedule({ functions, nodes, current: new Map(), now: T0 });

  it('relabel a device: placement follows', () => {
    const next = reschedule(base, { upsertNodes: [node('c', { labels: { site: 'p1' } })] });
    assert.deepEqual(assigned(next), {
      'ns/e1': ['a', 'b', 'c'],
      'ns/e2': [],
      'ns/r': placementOf(base, 'ns/r').nodes,
    });
    assert.deepEqual(next.removals, [
      { function: 'ns/e2', node: 'c', reason: 'node no longer matches selector site=p2' },
    ]);
    assert.equal(placementOf(next, 'ns/e2').reason, 'no node matches selector site=p2');
  });

  it('leaves unaffected functions untouched (same objects, not recomputed)', () => {
    const next = reschedule(base, { upsertNodes: [node('c', { labels: { site: 'p2' }, sensors: ['x'] })] });
    assert.equal(next.placements.get('ns/e1'), base.placements.get('ns/e1'));
    assert.equal(next.placements.get('ns/r'), base.placements.get('ns/r'));
  });

  it('adding and removing functions', () => {
    const added = reschedule(base, { upsertFunctions: [fn('ns/new', site('p2'))] });
    assert.deepEqual(placementOf(added, 'ns/new').nodes, ['c']);
    const removed = reschedule(added, { removeFunctions: ['ns/new', 'ns/e1'] });
    assert.deepEqual([...removed.placements.keys()], ['ns/e2', 'ns/r']);
    assert.equal(removed.state.usage.functions.get('c'), 1);
  });

  it('a short function takes capacity freed elsewhere', () => {
    const tiny = [node('x', { capacity: { functions: 1, memoryBytes: 64 * MiB } })];
    const first = schedule({ functions: [fn('ns/a'), fn('ns/b')], nodes: tiny, current: new Map(), now: T0 });
    assert.deepEqual(assigned(first), { 'ns/a': ['x'], 'ns/b': [] });
    const next = reschedule(first, { removeFunctions: ['ns/a'] });
    assert.deepEqual(assigned(next), { 'ns/b': ['x'] });
    assert.equal(placementOf(next, 'ns/b').reason, undefined);
  });

  it('a device removed: its replica moves, Every loses it', () => {
    const here = placementOf(base, 'ns/r').nodes[0]!;
    const next = reschedule(base, { removeNodes: [here] });
    assert.equal(placementOf(next, 'ns/r').nodes.length, 1);
    assert.notEqual(placementOf(next, 'ns/r').nodes[0], here);
    assert.ok(!placementOf(next, 'ns/e1').nodes.includes(here));
    assert.equal(next.state.usage.functions.has(here), false);
  });

  it('does not mutate the previous result', () => {
    const snapshot = structuredClone({ p: [...base.placements], u: base.state.usage });
    reschedule(base, { upsertNodes: [node('d', { labels: { site: 'p1' } })], removeNodes: ['a'] });
    assert.deepEqual({ p: [...base.placements], u: base.state.usage }, snapshot);
  });
});
