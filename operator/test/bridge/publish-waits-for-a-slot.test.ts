// SPDX-License-Identifier: Apache-2.0
// Issue 18, found at 30,000 devices: a fleet-wide change handed every device's document to the
// bridge at once, each with its 5-second publish timeout already running while it waited behind
// the 1,000-publish in-flight bound; the tail timed out ("is the MQTT broker reachable?") with the
// broker reachable, and the reconcile ran again. publishDocuments now goes through eachBounded
// with the bridge's bound: a document's work (and its clock) starts only when a slot is free.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eachBounded } from '../../src/bridge/in-flight.ts';

/** A promise settled from outside. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('publishing a fleet-wide change: one slot, one clock', () => {
  it('starts an item only when one of the limit slots is free, and runs every item once', async () => {
    const gates = Array.from({ length: 7 }, deferred);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const done = eachBounded([0, 1, 2, 3, 4, 5, 6], 3, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await gates[i]?.promise;
      running--;
    });
    await settle();
    assert.deepEqual(started, [0, 1, 2], 'the fourth waits: its clock has not started');
    gates[1]?.resolve();
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (const g of gates) g.resolve();
    await done;
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(most, 3);
  });

  it('fails with the first failure once the running items settle, and starts nothing after it', async () => {
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const done = eachBounded([0, 1, 2, 3, 4], 2, async (i) => {
      started.push(i);
      await gates[i]?.promise;
    });
    const outcome = done.then(
      () => 'resolved',
      (e: unknown) => (e as Error).message,
    );
    await settle();
    gates[0]?.reject(new Error('publish of d0 timed out'));
    await settle();
    assert.deepEqual(started, [0, 1], 'no new item after a failure');
    gates[1]?.resolve();
    assert.equal(await outcome, 'publish of d0 timed out');
    assert.deepEqual(started, [0, 1]);
  });

  it('does nothing for no items', async () => {
    await eachBounded([], 1000, () => Promise.reject(new Error('never called')));
  });
});
