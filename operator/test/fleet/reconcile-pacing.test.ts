// SPDX-License-Identifier: Apache-2.0
// Device reports wake a function's reconcile no sooner than twice the last reconcile took, within
// 50 ms and 1 s (ADR 0045): a 10,000-device status wave ran O(devices) reconciles back to back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReconcilePacing } from '../../src/fleet/reconcile-pacing.ts';

describe('reconcile pacing', () => {
  it('waits twice the last reconcile, at least 50 ms and at most 1 s', () => {
    const pacing = new ReconcilePacing();
    assert.equal(pacing.delayMs, 50, 'before any reconcile: a small fleet hears back quickly');
    pacing.record(10);
    assert.equal(pacing.delayMs, 50);
    pacing.record(200);
    assert.equal(pacing.delayMs, 400);
    pacing.record(5_000);
    assert.equal(pacing.delayMs, 1000);
  });

  it('times each reconcile it wraps, failed ones too', async () => {
    const pacing = new ReconcilePacing();
    let t = 0;
    const slow = pacing.timed(
      async (ms: number) => {
        t += ms;
        await Promise.resolve();
        if (ms > 300) throw new Error('failed');
        return ms;
      },
      () => t,
    );
    assert.equal(await slow(150), 150);
    assert.equal(pacing.delayMs, 300);
    await assert.rejects(slow(400), /failed/);
    assert.equal(pacing.delayMs, 800);
  });
});
