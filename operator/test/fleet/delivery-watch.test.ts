// SPDX-License-Identifier: Apache-2.0
// DeliveryWatch decides when a desired document a device has not confirmed is sent again: only
// to a device that is online and behind for longer than the grace (counted from when it came
// online, so a fleet reconnecting after an outage is not flooded before it has read its retained
// documents), with the grace doubling per attempt, and never again once the device confirms.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredState, NodeStatus } from '@wasmfleet/api';
import { DeliveryWatch } from '../../src/fleet/delivery-watch.ts';

const doc = (generation: number): DesiredState => ({ version: 1, node: 'd1', generation, functions: [] });
const online = (observedGeneration?: number): NodeStatus => ({
  version: 1,
  node: 'd1',
  state: 'online',
  ...(observedGeneration !== undefined ? { observedGeneration } : {}),
});
const offline: NodeStatus = { version: 1, node: 'd1', state: 'offline' };

const watch = () => new DeliveryWatch({ graceMs: 10_000, maxGraceMs: 40_000 });

describe('DeliveryWatch', () => {
  it('sends a document again to a device online and behind for longer than the grace, the grace doubling', () => {
    const w = watch();
    w.sent(doc(1), online(), 0);
    assert.equal(w.observe('d1', online(), 9_999), undefined, 'within the grace');
    assert.deepEqual(w.observe('d1', online(), 10_000), { doc: doc(1), attempt: 1, waitedMs: 10_000 });
    assert.equal(w.observe('d1', online(), 29_999), undefined, 'the second grace is 20 s');
    assert.equal(w.observe('d1', online(), 30_000)?.attempt, 2);
    assert.equal(w.observe('d1', online(), 70_000)?.attempt, 3, 'the third grace is 40 s');
    assert.equal(w.observe('d1', online(), 109_999), undefined, 'capped at 40 s');
    assert.equal(w.observe('d1', online(), 110_000)?.attempt, 4);
  });

  it('forgets a document once the device reports its generation (or a later one)', () => {
    const w = watch();
    w.sent(doc(2), online(1), 0);
    assert.equal(w.size, 1);
    assert.equal(w.observe('d1', online(3), 60_000), undefined);
    assert.equal(w.size, 0, 'a fleet that confirmed everything holds no entries');
    assert.equal(w.observe('d1', online(1), 120_000), undefined, 'nothing left to send');
  });

  it('tracks nothing for a device that already confirmed what was sent', () => {
    const w = watch();
    w.sent(doc(1), online(1), 0);
    assert.equal(w.size, 0);
  });

  it('starts the grace when the device comes online, not when the document was published', () => {
    const w = watch();
    w.sent(doc(1), offline, 0);
    assert.equal(w.observe('d1', offline, 60_000), undefined, 'an offline device is never sent to');
    assert.equal(w.observe('d1', online(), 100_000), undefined, 'it has just come online');
    assert.equal(w.observe('d1', online(), 109_999), undefined);
    assert.equal(w.observe('d1', online(), 110_000)?.waitedMs, 10_000);
  });

  it('restarts the grace after the device drops offline and comes back', () => {
    const w = watch();
    w.sent(doc(1), online(), 0);
    assert.equal(w.observe('d1', offline, 5_000), undefined);
    assert.equal(w.observe('d1', online(), 50_000), undefined, 'back online: a fresh grace');
    assert.equal(w.observe('d1', online(), 60_000)?.attempt, 1);
  });

  it('a newer document replaces the one awaited, with a fresh grace and count', () => {
    const w = watch();
    w.sent(doc(1), online(), 0);
    assert.equal(w.observe('d1', online(), 10_000)?.attempt, 1);
    w.sent(doc(2), online(), 12_000);
    assert.equal(w.observe('d1', online(1), 21_999), undefined, 'generation 1 does not confirm 2');
    assert.deepEqual(w.observe('d1', online(1), 22_000), { doc: doc(2), attempt: 1, waitedMs: 10_000 });
  });

  it('ignores statuses of devices it awaits nothing from', () => {
    const w = watch();
    assert.equal(w.observe('d9', online(), 1e9), undefined);
  });
});
