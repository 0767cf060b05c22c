// SPDX-License-Identifier: Apache-2.0
// EdgeNode changes reach the placement book in batches (ADR 0038): a registering fleet's
// thousands of informer events are a few reschedules, not one each (which made registration
// O(devices²) of the operator's thread), and a status write that changes nothing the scheduler
// reads is no reschedule at all.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { NodeChangeBatch } from '../../src/fleet/node-change-batch.ts';
import type { SchedulableNode, SchedulerChanges } from '../../src/scheduler/index.ts';

const node = (name: string, online = true): SchedulableNode => ({
  name,
  labels: { 'wasmfleet.io/fleet': 'f' },
  sensors: ['temperature'],
  online,
  unschedulable: false,
  taints: [],
  capacity: { functions: 16, memoryBytes: 256 * 1024 * 1024 },
});

type Batch = Pick<SchedulerChanges, 'upsertNodes' | 'removeNodes'>;

function batcher(known: Map<string, SchedulableNode> = new Map()): {
  batch: NodeChangeBatch;
  applied: Batch[];
} {
  const applied: Batch[] = [];
  const batch = new NodeChangeBatch({
    apply: (changes) => {
      applied.push(changes);
      for (const n of changes.upsertNodes ?? []) known.set(n.name, n);
      for (const name of changes.removeNodes ?? []) known.delete(name);
    },
    known: (name) => known.get(name),
  });
  return { batch, applied };
}

describe('EdgeNode changes in batches', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('10,000 registrations (add, then first status) are one reschedule, not 20,000', () => {
    const { batch, applied } = batcher();
    for (let i = 0; i < 10_000; i++) batch.upsert(node(`d${i}`, false));
    for (let i = 0; i < 10_000; i++) batch.upsert(node(`d${i}`, true));
    assert.equal(applied.length, 0, 'nothing until the batch is due');
    mock.timers.tick(10);
    assert.equal(applied.length, 1);
    const upserts = applied[0]?.upsertNodes ?? [];
    assert.equal(upserts.length, 10_000);
    assert.ok(
      upserts.every((n) => n.online),
      'the latest view of each device wins',
    );
  });

  it('a change the scheduler cannot see (the same schedulable view) is dropped', () => {
    const known = new Map([['d1', node('d1')]]);
    const { batch, applied } = batcher(known);
    batch.upsert(node('d1'));
    mock.timers.tick(1000);
    assert.equal(applied.length, 0);
    batch.upsert(node('d1', false));
    mock.timers.tick(10);
    assert.deepEqual(
      applied[0]?.upsertNodes?.map((n) => n.online),
      [false],
    );
  });

  it('a device removed after a change is removed; one changed after removal is upserted', () => {
    const { batch, applied } = batcher();
    batch.upsert(node('a'));
    batch.remove('a');
    batch.remove('b');
    batch.upsert(node('b'));
    batch.flush();
    assert.deepEqual(applied, [{ upsertNodes: [node('b')], removeNodes: ['a'] }]);
  });
});
