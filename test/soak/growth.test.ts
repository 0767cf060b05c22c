// SPDX-License-Identifier: Apache-2.0
// The soak's arithmetic on synthetic series: a sawtooth heap that holds steady passes, the same
// sawtooth over a slow leak fails, and /proc and Prometheus text are read right.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { growth, slopePerHour, windowFloors, type Point } from './growth.ts';
import { metricValue, parentOf, parseProcStatus } from './process-stats.ts';
import type { Sample } from './sampler.ts';
import { verdict } from './verdict.ts';

const MiB = 1024 * 1024;
const MINUTE = 60_000;

/** Ten minutes of a heap sampled every 3 s: 40 MiB live, a 20 MiB GC sawtooth every 47 s, plus `leakPerHour`. */
function heapSeries(leakPerHour: number): Point[] {
  const points: Point[] = [];
  for (let t = 0; t <= 10 * MINUTE; t += 3_000) {
    const sawtooth = ((t % 47_000) / 47_000) * 20 * MiB;
    points.push({ t, v: 40 * MiB + sawtooth + (leakPerHour * t) / (60 * MINUTE) });
  }
  return points;
}

describe('soak growth fit', () => {
  it('fits the slope per hour of a straight line exactly', () => {
    const line = [0, 1, 2, 3].map((m) => ({ t: m * MINUTE, v: 100 + m * 5 }));
    assert.equal(Math.round(slopePerHour(line)), 300);
    assert.equal(slopePerHour(line.slice(0, 1)), 0);
  });

  it('takes the lowest sample of each window', () => {
    const floors = windowFloors(
      [
        { t: 0, v: 5 },
        { t: 10, v: 3 },
        { t: 20, v: 9 },
        { t: 35, v: 1 },
      ],
      20,
    );
    assert.deepEqual(floors, [
      { t: 10, v: 3 },
      { t: 35, v: 1 },
    ]);
  });

  it('a GC sawtooth with no leak stays under the heap bound; 60 MiB/h of leak under it does not', () => {
    const steady = growth(heapSeries(0), 2.5 * MINUTE, MINUTE);
    assert.ok(Math.abs(steady.perHour) < 12 * MiB, `steady sawtooth fitted ${steady.perHour / MiB} MiB/h`);
    const leaking = growth(heapSeries(60 * MiB), 2.5 * MINUTE, MINUTE);
    assert.ok(leaking.perHour > 40 * MiB, `leak fitted ${leaking.perHour / MiB} MiB/h`);
  });

  it('flags the process and metric that grow at quiet points, and needs three windows to judge', () => {
    const samples: Sample[] = heapSeries(0).flatMap((p, i) => [
      {
        t: p.t,
        process: 'agent-a',
        rssBytes: 80 * MiB,
        heapLiveBytes: p.v,
        fds: 30,
        threads: 20,
        quiet: true,
      },
      // One leaked descriptor per 30 s: 120 an hour.
      {
        t: p.t,
        process: 'operator',
        rssBytes: 90 * MiB,
        heapLiveBytes: 50 * MiB,
        fds: 40 + Math.floor(i / 10),
        threads: 12,
        quiet: true,
      },
      // Mid-cycle: a function's worker adds descriptors and a thread; not judged.
      {
        t: p.t + 1,
        process: 'agent-a',
        rssBytes: 90 * MiB,
        heapLiveBytes: p.v,
        fds: 35 + Math.floor(i / 5),
        threads: 21 + Math.floor(i / 5),
        quiet: false,
      },
    ]);
    const rows = verdict(samples, 2.5 * MINUTE, MINUTE);
    assert.deepEqual(
      rows.filter((r) => !r.ok).map((r) => `${r.process} ${r.metric}`),
      ['operator fds'],
    );
    const short = verdict(
      samples.filter((s) => s.t < 4 * MINUTE),
      2.5 * MINUTE,
      MINUTE,
    );
    assert.ok(
      short.every((r) => !r.ok),
      'two windows are too few to fit',
    );
  });

  it('reads /proc/<pid>/status, /proc/<pid>/stat and Prometheus text', () => {
    assert.deepEqual(parseProcStatus('Name:\tnode\nVmRSS:\t  123 kB\nThreads:\t7\n'), {
      rssBytes: 123 * 1024,
      threads: 7,
    });
    assert.throws(() => parseProcStatus('Name:\tx\n'), /VmRSS/);
    assert.equal(parentOf('42 (node (worker) x) S 17 42 42 0'), 17);
    const text = '# HELP x y\nx_bytes 5\nfns{phase="Running"} 2\nfns{phase="Failed"} 1\n';
    assert.equal(metricValue(text, 'x_bytes'), 5);
    assert.equal(metricValue(text, 'fns'), 3);
    assert.equal(metricValue(text, 'missing'), undefined);
  });
});
