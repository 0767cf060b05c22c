// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { schedule } from '../../src/scheduler/index.ts';
import type { SchedulableFunction, SchedulableNode } from '../../src/scheduler/index.ts';
import { fn, node, placementOf, replicas, T0 } from './fixtures.ts';

function reasonFor(f: SchedulableFunction, nodes: SchedulableNode[]): string | undefined {
  return placementOf(schedule({ functions: [f], nodes, current: new Map(), now: T0 }), f.key).reason;
}

const plant = (name: string, over: Partial<SchedulableNode> = {}): SchedulableNode =>
  node(name, { labels: { site: 'plant-1' }, sensors: ['temperature'], ...over });
const target = { selector: { matchLabels: { site: 'plant-1' } }, sensors: ['temperature'] };

describe('reasons a user can read', () => {
  it('replicas short because too few nodes match', () => {
    assert.equal(
      reasonFor(replicas('ns/r', 3, target), [plant('a'), plant('b'), node('c')]),
      '2 of 3 replicas placed: only 2 nodes match selector site=plant-1 with sensor temperature',
    );
  });

  it('replicas short because matching nodes are unusable, with each cause counted', () => {
    const nodes = [
      plant('a'),
      plant('b', { unschedulable: true }),
      plant('c', { online: false, offlineSince: T0 }),
      plant('d', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
      plant('e', { capacity: { functions: 0, memoryBytes: 0 } }),
    ];
    assert.equal(
      reasonFor(replicas('ns/r', 3, target), nodes),
      '1 of 3 replicas placed: 5 nodes match selector site=plant-1 with sensor temperature; 1 cordoned, 1 offline, ' +
        '1 with untolerated taint dedicated=gpu:NoSchedule, 1 at their function limit',
    );
  });

  it('no matching node at all, with a hint when only sensors are missing', () => {
    assert.equal(
      reasonFor(fn('ns/e', target), [node('a', { labels: { site: 'plant-1' } })]),
      'no node matches selector site=plant-1 with sensor temperature (1 node matches the selector but lack a sensor)',
    );
    assert.equal(
      reasonFor(replicas('ns/r', 1, { sensors: ['co2', 'temp'] }), []),
      '0 of 1 replica placed: no node matches with sensors co2, temp',
    );
  });

  it('Every with matching nodes that cannot take it', () => {
    assert.equal(
      reasonFor(fn('ns/e', target), [plant('a', { unschedulable: true })]),
      '1 node matches selector site=plant-1 with sensor temperature but none can take it: 1 cordoned',
    );
  });

  it('no reason when the function is fully placed', () => {
    assert.equal(reasonFor(fn('ns/e', target), [plant('a')]), undefined);
    assert.equal(reasonFor(replicas('ns/r', 1, target), [plant('a')]), undefined);
  });

  it('an invalid spec is placed nowhere and says why', () => {
    const bad = replicas('ns/r', 1.5);
    assert.equal(reasonFor(bad, [plant('a')]), 'invalid spec: replicas must be a non-negative integer');
    const badSelector = fn('ns/e', {
      selector: { matchExpressions: [{ key: 'site', operator: 'In', values: [] }] },
    });
    assert.equal(
      reasonFor(badSelector, [plant('a')]),
      'invalid spec: selector expression on "site": In needs at least one value',
    );
  });

  it('duplicate names in the input are a caller bug and throw', () => {
    assert.throws(
      () => schedule({ functions: [], nodes: [node('a'), node('a')], current: new Map(), now: T0 }),
      /two nodes named "a"/,
    );
  });
});
