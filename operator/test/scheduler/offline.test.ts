// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reschedule, schedule } from '../../src/scheduler/index.ts';
import { assigned, fn, node, placementOf, replicas, T0 } from './fixtures.ts';

const GRACE = 5 * 60_000;

describe('offline devices', () => {
  const nodes = [node('a', { online: false, offlineSince: T0 }), node('b'), node('c')];

  it('keep their Every assignments indefinitely (edge autonomy)', () => {
    const r = schedule({
      functions: [fn('ns/e')],
      nodes,
      current: new Map([['ns/e', ['a']]]),
      now: T0 + 30 * 86_400_000,
    });
    assert.ok(placementOf(r, 'ns/e').nodes.includes('a'));
    assert.deepEqual(r.removals, []);
  });

  it('receive new Every functions too (desired state is retained until they reconnect)', () => {
    const r = schedule({ functions: [fn('ns/e')], nodes, current: new Map(), now: T0 });
    assert.deepEqual(assigned(r), { 'ns/e': ['a', 'b', 'c'] });
  });

  it('do not receive new replicas', () => {
    const r = schedule({ functions: [replicas('ns/r', 3)], nodes, current: new Map(), now: T0 });
    assert.deepEqual(assigned(r), { 'ns/r': ['b', 'c'] });
    assert.equal(placementOf(r, 'ns/r').reason, '2 of 3 replicas placed: 3 nodes exist; 1 offline');
  });

  it('keep replicas within the grace period, move them after it', () => {
    const first = schedule({
      functions: [replicas('ns/r', 1)],
      nodes,
      current: new Map([['ns/r', ['a']]]),
      now: T0 + 1000,
    });
    assert.deepEqual(assigned(first), { 'ns/r': ['a'] });
    assert.equal(first.nextWakeAt, T0 + GRACE, 'tells the caller when to look again');

    const later = reschedule(first, { now: T0 + GRACE });
    assert.equal(placementOf(later, 'ns/r').nodes.length, 1);
    assert.notDeepEqual(placementOf(later, 'ns/r').nodes, ['a']);
    assert.deepEqual(
      later.removals.map((r) => r.reason),
      ['node offline for 5m, longer than the 5m grace period for replicas'],
    );
    assert.equal(later.nextWakeAt, undefined);
  });

  it('honour a configured grace period', () => {
    const r = schedule({
      functions: [replicas('ns/r', 1)],
      nodes,
      current: new Map([['ns/r', ['a']]]),
      now: T0 + 61_000,
      options: { replicaGracePeriodMs: 60_000 },
    });
    assert.notDeepEqual(placementOf(r, 'ns/r').nodes, ['a']);
  });

  it('without offlineSince count as past the grace period', () => {
    const r = schedule({
      functions: [replicas('ns/r', 1)],
      nodes: [node('a', { online: false }), node('b')],
      current: new Map([['ns/r', ['a']]]),
      now: T0,
    });
    assert.deepEqual(assigned(r), { 'ns/r': ['b'] });
    assert.match(r.removals[0]?.reason ?? '', /since unknown/);
  });
});
