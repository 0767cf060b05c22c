// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolloutSettings } from '../../src/rollout/index.ts';

describe('rolloutSettings (spec.rollout → settings)', () => {
  it('applies the CRD defaults to an absent block', () => {
    assert.deepEqual(rolloutSettings(undefined), {
      policy: { strategy: 'Rolling', maxUnavailable: { percent: 25 } },
      progressDeadlineMs: 600_000,
      onFailure: 'Rollback',
    });
  });

  it('reads maxUnavailable as a count or a percentage', () => {
    assert.deepEqual(rolloutSettings({ maxUnavailable: 3 }).policy, {
      strategy: 'Rolling',
      maxUnavailable: { count: 3 },
    });
    assert.deepEqual(rolloutSettings({ strategy: 'Rolling', maxUnavailable: '100%' }).policy, {
      strategy: 'Rolling',
      maxUnavailable: { percent: 100 },
    });
  });

  it('converts canary steps: pause durations to ms, gate Manual to manual', () => {
    const s = rolloutSettings({
      strategy: 'Canary',
      steps: [{ percent: 10, pause: '1m30s' }, { percent: 50, gate: 'Manual' }, { percent: 100 }],
      waves: { labelKey: 'ring' },
      maxErrorRate: 0.01,
      progressDeadlineSeconds: 120,
      onFailure: 'Pause',
    });
    assert.deepEqual(s, {
      policy: {
        strategy: 'Canary',
        steps: [{ percent: 10, pauseMs: 90_000 }, { percent: 50, manual: true }, { percent: 100 }],
      },
      waves: { labelKey: 'ring', order: [] },
      maxErrorRate: 0.01,
      progressDeadlineMs: 120_000,
      onFailure: 'Pause',
    });
  });

  it('rejects values admission should have caught, saying what to fix', () => {
    assert.throws(
      () => rolloutSettings({ maxUnavailable: 'lots' }),
      /maxUnavailable "lots" must be a device count or a percentage/,
    );
    assert.throws(
      () => rolloutSettings({ strategy: 'Canary', steps: [{ percent: 10, pause: 'soon' }] }),
      /pause "soon" is not a duration/,
    );
  });
});
