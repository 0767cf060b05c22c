// SPDX-License-Identifier: Apache-2.0
// Device reports wake a function's reconcile no sooner than twice the last reconcile took, within
// 50 ms and 10 s (ADR 0045, ADR 0057): a 10,000-device status wave ran O(devices) reconciles back
// to back, and at 100,000 devices a reconcile outgrew the old 1 s ceiling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReconcilePacing, unpaced } from '../../src/fleet/reconcile-pacing.ts';

describe('reconcile pacing', () => {
  it('waits twice the last reconcile, at least 50 ms and at most 10 s', () => {
    const pacing = new ReconcilePacing();
    assert.equal(pacing.delayMs, 50, 'before any reconcile: a small fleet hears back quickly');
    pacing.record(10);
    assert.equal(pacing.delayMs, 50);
    pacing.record(200);
    assert.equal(pacing.delayMs, 400);
    pacing.record(1_500);
    assert.equal(pacing.delayMs, 3_000, 'a 100,000-device reconcile still gets at most a third');
    pacing.record(60_000);
    assert.equal(pacing.delayMs, 10_000);
  });

  it('times each reconcile it wraps, failed ones too', async () => {
    const pacing = new ReconcilePacing();
    let t = 0;
    const slow = pacing.timed(
      async (ms: number) => {
        t += ms;
        await Promise.resolve();
        if (ms > 300) throw new Error('failed');
        return undefined;
      },
      () => t,
    );
    assert.equal(await slow(150), undefined);
    assert.equal(pacing.delayMs, 300);
    await assert.rejects(slow(400), /failed/);
    assert.equal(pacing.delayMs, 800);
  });

  it('does not count the wait for the broker: publishing a fleet does not hold back its reports', async () => {
    const pacing = new ReconcilePacing();
    let t = 0;
    const now = () => t;
    const reconcile = pacing.timed(async () => {
      t += 100; // the O(devices) part
      await unpaced(async () => {
        await Promise.resolve();
        t += 4_000; // 10,000 PUBACKs
      }, now);
      return undefined;
    }, now);
    await reconcile(undefined);
    assert.equal(pacing.delayMs, 200, 'not 8 s');
  });

  it('paces a requeue the reconcile asks for like a report, so the rule holds', async () => {
    const pacing = new ReconcilePacing();
    let t = 0;
    const reconcile = pacing.timed(
      async (took: number) => {
        t += took;
        await Promise.resolve();
        return { requeueAfter: 100 };
      },
      () => t,
    );
    assert.deepEqual(await reconcile(10), { requeueAfter: 100 }, 'a small fleet: as asked');
    assert.deepEqual(await reconcile(1_000), { requeueAfter: 2_000 });
  });
});
