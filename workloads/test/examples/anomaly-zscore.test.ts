// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../../src/kernels.ts';
import { MemoryState, loadExample } from '../helpers/harness.ts';

const reading = (name: string, v: number, t: number): string =>
  JSON.stringify([{ bn: 'dev1/', n: name, u: 'Cel', v, t }]);

interface Anomaly {
  sensor: string;
  value: number;
  mean: number;
  std: number;
  z: number;
  t: number;
}

describe('anomaly-zscore example (C, per-device state)', () => {
  it('flags a spike only after MIN_SAMPLES, per sensor', async () => {
    const fn = await loadExample('anomaly-zscore', {
      config: { WINDOW: '20', MIN_SAMPLES: '10', Z_THRESHOLD: '3' },
    });
    try {
      const rnd = prng(11);
      // A spike before MIN_SAMPLES is not judged.
      assert.deepEqual(await fn.json(reading('temperature', 21, 0)), []);
      assert.deepEqual(await fn.json(reading('temperature', 90, 1)), []);
      const fresh = await loadExample('anomaly-zscore', { config: { WINDOW: '20', MIN_SAMPLES: '10' } });
      try {
        for (let t = 0; t < 30; t++)
          assert.deepEqual(await fresh.json(reading('temperature', 21 + (rnd() - 0.5), t)), []);
        const [alert] = (await fresh.json(reading('temperature', 30, 30))) as Anomaly[];
        assert.ok(alert);
        assert.equal(alert.sensor, 'dev1/temperature');
        assert.equal(alert.value, 30);
        assert.ok(Math.abs(alert.mean - 21) < 0.3, `mean ${alert.mean}`);
        assert.ok(alert.z > 3);
        assert.equal(alert.t, 30);
        // Another sensor has its own window: no alert for its first readings.
        assert.deepEqual(await fresh.json(reading('humidity', 80, 31)), []);
        assert.ok(fresh.state.get('w:dev1/temperature'));
        assert.ok(fresh.state.get('w:dev1/humidity'));
      } finally {
        await fresh.close();
      }
    } finally {
      await fn.close();
    }
  });

  it('keeps its window in state across a restart of the function', async () => {
    const state = new MemoryState();
    const first = await loadExample('anomaly-zscore', { state, config: { MIN_SAMPLES: '5' } });
    for (let t = 0; t < 10; t++) await first.ok(reading('pressure', 100 + (t % 2), t));
    await first.close();
    const second = await loadExample('anomaly-zscore', { state, config: { MIN_SAMPLES: '5' } });
    try {
      const out = (await second.json(reading('pressure', 120, 10))) as Anomaly[];
      assert.equal(out.length, 1, 'the restarted function remembers the window and flags the spike');
      assert.ok(out[0]!.z > 10);
    } finally {
      await second.close();
    }
  });

  it('handles multi-record packs and rejects malformed SenML', async () => {
    const fn = await loadExample('anomaly-zscore', { config: { MIN_SAMPLES: '3', WINDOW: '5' } });
    try {
      const pack = (v: number): string =>
        JSON.stringify([
          { bn: 'd/', bt: 100, n: 'a', v },
          { n: 'b', v: v * 2, t: 1, extra: { x: [1, 2] } },
          { n: 'c', vs: 'text' },
        ]);
      for (const v of [10, 11, 10, 11]) assert.deepEqual(await fn.json(pack(v)), []);
      const alerts = (await fn.json(pack(50))) as Anomaly[];
      assert.deepEqual(
        alerts.map((a) => [a.sensor, a.t]),
        [
          ['d/a', 100],
          ['d/b', 101],
        ],
      );
      assert.match(await fn.fails('{"v":1}'), /JSON array/);
      assert.match(await fn.fails('[{"n":"x","v":}]'), /malformed/);
    } finally {
      await fn.close();
    }
  });
});
