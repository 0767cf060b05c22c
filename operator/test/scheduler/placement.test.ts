// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schedule } from '../../src/scheduler/index.ts';
import { assigned, fn, MiB, node, placementOf, replicas, T0 } from './fixtures.ts';

const none = new Map<string, readonly string[]>();

describe('mode Every', () => {
  it('places on every node the selector and sensors admit', () => {
    const nodes = [
      node('a', { labels: { site: 'p1' }, sensors: ['temperature', 'humidity'] }),
      node('b', { labels: { site: 'p1' }, sensors: ['humidity'] }),
      node('c', { labels: { site: 'p2' }, sensors: ['temperature'] }),
      node('d', { labels: { site: 'p1' }, sensors: ['temperature'] }),
    ];
    const r = schedule({
      functions: [fn('ns/f', { selector: { matchLabels: { site: 'p1' } }, sensors: ['temperature'] })],
      nodes,
      current: none,
      now: T0,
    });
    assert.deepEqual(placementOf(r, 'ns/f'), { key: 'ns/f', nodes: ['a', 'd'], desired: 2 });
  });

  it('skips cordoned nodes for new placement but keeps what runs there', () => {
    const nodes = [node('a'), node('b', { unschedulable: true }), node('c', { unschedulable: true })];
    const r = schedule({ functions: [fn('ns/f')], nodes, current: new Map([['ns/f', ['c']]]), now: T0 });
    assert.deepEqual(assigned(r), { 'ns/f': ['a', 'c'] });
    assert.deepEqual(r.removals, []);
  });

  it('follows a relabel: drops the node that no longer matches, with a reason', () => {
    const nodes = [node('a', { labels: { site: 'p2' } }), node('b', { labels: { site: 'p1' } })];
    const r = schedule({
      functions: [fn('ns/f', { selector: { matchLabels: { site: 'p1' } } })],
      nodes,
      current: new Map([['ns/f', ['a']]]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/f': ['b'] });
    assert.deepEqual(r.removals, [
      { function: 'ns/f', node: 'a', reason: 'node no longer matches selector site=p1' },
    ]);
  });

  it('drops a node that stopped reporting a required sensor', () => {
    const r = schedule({
      functions: [fn('ns/f', { sensors: ['temperature'] })],
      nodes: [node('a')],
      current: new Map([['ns/f', ['a']]]),
      now: T0,
    });
    assert.deepEqual(r.removals, [
      { function: 'ns/f', node: 'a', reason: 'node no longer reports sensor temperature' },
    ]);
  });

  it('drops assignments on nodes that no longer exist', () => {
    const r = schedule({
      functions: [fn('ns/f')],
      nodes: [node('a')],
      current: new Map([['ns/f', ['gone', 'a']]]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/f': ['a'] });
    assert.deepEqual(r.removals, [{ function: 'ns/f', node: 'gone', reason: 'node no longer exists' }]);
  });
});

describe('mode Replicas', () => {
  const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => node(n));

  it('places exactly N', () => {
    const r = schedule({ functions: [replicas('ns/r', 3)], nodes: six, current: none, now: T0 });
    assert.equal(placementOf(r, 'ns/r').nodes.length, 3);
    assert.equal(placementOf(r, 'ns/r').desired, 3);
    assert.equal(placementOf(r, 'ns/r').reason, undefined);
  });

  it('defaults to one replica', () => {
    const r = schedule({ functions: [fn('ns/r', { mode: 'Replicas' })], nodes: six, current: none, now: T0 });
    assert.equal(placementOf(r, 'ns/r').nodes.length, 1);
  });

  it('spreads evenly over a topology label', () => {
    const nodes = ['z1', 'z2', 'z3'].flatMap((zone) =>
      [1, 2, 3, 4].map((i) => node(`${zone}-${i}`, { labels: { zone } })),
    );
    for (const count of [3, 6, 7]) {
      const r = schedule({
        functions: [replicas('ns/r', count, { spread: { topologyKey: 'zone' } })],
        nodes,
        current: none,
        now: T0,
      });
      const perZone = new Map<string, number>();
      for (const name of placementOf(r, 'ns/r').nodes)
        perZone.set(name.slice(0, 2), (perZone.get(name.slice(0, 2)) ?? 0) + 1);
      const counts = [...perZone.values()];
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        count,
      );
      assert.ok(
        Math.max(...counts) - Math.min(...counts) <= 1,
        `uneven spread for ${count}: ${counts.join(',')}`,
      );
      assert.equal(perZone.size, 3);
    }
  });

  it('fills nodes without the topology label only after labelled ones', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1' } }),
      node('b', { labels: { zone: 'z2' } }),
      node('c'),
      node('d'),
    ];
    const fns = Array.from({ length: 10 }, (_, i) =>
      replicas(`ns/r${i}`, 2, { spread: { topologyKey: 'zone' } }),
    );
    const r = schedule({ functions: fns, nodes, current: none, now: T0 });
    for (const f of fns) {
      const placed = placementOf(r, f.key).nodes;
      assert.deepEqual(placed, ['a', 'b']);
    }
  });

  it('on scale-down drops replicas on offline nodes first, then on unschedulable ones', () => {
    const nodes = [
      node('healthy'),
      node('off', { online: false, offlineSince: T0 }),
      node('cordoned', { unschedulable: true }),
    ];
    for (let i = 0; i < 10; i++) {
      const key = `ns/r${i}`;
      const r = schedule({
        functions: [replicas(key, 2)],
        nodes,
        current: new Map([[key, ['healthy', 'off', 'cordoned']]]),
        now: T0,
      });
      assert.deepEqual(placementOf(r, key).nodes, ['cordoned', 'healthy']);
      const one = schedule({
        functions: [replicas(key, 1)],
        nodes,
        current: new Map([[key, ['healthy', 'off', 'cordoned']]]),
        now: T0,
      });
      assert.deepEqual(placementOf(one, key).nodes, ['healthy']);
    }
  });

  it('different functions prefer different nodes (no pile-up on the first name)', () => {
    const many = Array.from({ length: 20 }, (_, i) => node(`n${String(i).padStart(2, '0')}`));
    const fns = Array.from({ length: 20 }, (_, i) => replicas(`ns/f${i}`, 1));
    const r = schedule({ functions: fns, nodes: many, current: none, now: T0 });
    const used = new Set([...r.placements.values()].flatMap((p) => p.nodes));
    assert.ok(used.size >= 8, `only ${used.size} distinct nodes used`);
  });

  it('scales down by dropping offline, then cordoned, then from the most crowded zone', () => {
    const nodes = [
      node('a', { labels: { zone: 'z1' } }),
      node('b', { labels: { zone: 'z1' } }),
      node('c', { labels: { zone: 'z2' } }),
      node('d', { labels: { zone: 'z2' }, online: false, offlineSince: T0 - 1000 }),
      node('e', { labels: { zone: 'z3' }, unschedulable: true }),
    ];
    const r = schedule({
      functions: [replicas('ns/r', 2, { spread: { topologyKey: 'zone' } })],
      nodes,
      current: new Map([['ns/r', ['a', 'b', 'c', 'd', 'e']]]),
      now: T0,
    });
    const kept = placementOf(r, 'ns/r').nodes;
    assert.equal(kept.length, 2);
    assert.ok(kept.includes('c'), 'z2 keeps its online replica');
    assert.ok(!kept.includes('d') && !kept.includes('e'));
    assert.deepEqual(
      r.removals.map((x) => x.reason),
      ['scaled down to 2 replicas', 'scaled down to 2 replicas', 'scaled down to 2 replicas'],
    );
  });

  it('replicas: 0 places nothing and is not short', () => {
    const r = schedule({
      functions: [replicas('ns/r', 0)],
      nodes: six,
      current: new Map([['ns/r', ['a']]]),
      now: T0,
    });
    assert.deepEqual(placementOf(r, 'ns/r'), { key: 'ns/r', nodes: [], desired: 0 });
  });
});

describe('capacity', () => {
  it('never exceeds the function count; contention goes to the smaller key', () => {
    const r = schedule({
      functions: [fn('ns/b'), fn('ns/a'), fn('ns/c')],
      nodes: [node('x', { capacity: { functions: 2, memoryBytes: 100 * MiB } })],
      current: none,
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': ['x'], 'ns/b': ['x'], 'ns/c': [] });
    assert.match(
      placementOf(r, 'ns/c').reason ?? '',
      /placed on 0 of 1 eligible node: 1 at their function limit/,
    );
  });

  it('never exceeds memory', () => {
    const r = schedule({
      functions: [fn('ns/a', { memoryBytes: 6 * MiB }), fn('ns/b', { memoryBytes: 6 * MiB })],
      nodes: [node('x', { capacity: { functions: 10, memoryBytes: 10 * MiB } })],
      current: none,
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': ['x'], 'ns/b': [] });
    assert.match(placementOf(r, 'ns/b').reason ?? '', /1 without 6 MiB of free memory/);
  });

  it('new work never displaces existing work', () => {
    const r = schedule({
      functions: [fn('ns/a'), fn('ns/z')],
      nodes: [node('x', { capacity: { functions: 1, memoryBytes: 100 * MiB } })],
      current: new Map([['ns/z', ['x']]]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': [], 'ns/z': ['x'] });
  });

  it('a shrunk device keeps first-fit by key and moves evicted replicas elsewhere', () => {
    const nodes = [node('x', { capacity: { functions: 1, memoryBytes: 100 * MiB } }), node('y')];
    const r = schedule({
      functions: [replicas('ns/a', 1), replicas('ns/b', 1)],
      nodes,
      current: new Map([
        ['ns/a', ['x']],
        ['ns/b', ['x']],
      ]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/a': ['x'], 'ns/b': ['y'] });
    assert.deepEqual(r.removals, [
      { function: 'ns/b', node: 'x', reason: 'node over capacity (limits: 1 function, 100 MiB)' },
    ]);
  });

  it('replicas are placed on other nodes when the preferred one is full', () => {
    const nodes = [node('x', { capacity: { functions: 0, memoryBytes: 0 } }), node('y'), node('z')];
    const r = schedule({ functions: [replicas('ns/r', 2)], nodes, current: none, now: T0 });
    assert.deepEqual(assigned(r), { 'ns/r': ['y', 'z'] });
  });
});
