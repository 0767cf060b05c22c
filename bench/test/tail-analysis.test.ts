// SPDX-License-Identifier: Apache-2.0
// The latency benchmark's tail attribution (bench/agent-pipeline/tail-analysis.ts) on made-up time
// lines whose answer is known: which slow messages a GC of the process (or of the harness)
// overlapped, cold and steady kept apart, a profile's ticks put on the epoch time line with the
// gaps where the process was off its CPU, and allocation by site per message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocationSites,
  profileSamples,
  tailReport,
  type CpuProfile,
  type GcEntry,
  type Sample,
} from '../agent-pipeline/tail-analysis.ts';

const T0 = 1_700_000_000_000;
/** One message a millisecond from T0, 300 µs each, except the slow ones given. */
function timeline(count: number, slow: Record<number, number> = {}): Sample[] {
  return Array.from({ length: count }, (_, i) => ({ sentMs: T0 + i, latencyUs: slow[i] ?? 300 }));
}

describe('tailReport', () => {
  it('splits cold (the first messages sent) from steady, whatever order they arrived in', () => {
    const samples = timeline(300, { 5: 9000 }).reverse();
    const { cold, steady } = tailReport(samples, 100, [], []);
    assert.equal(cold.messages, 100);
    assert.equal(steady.messages, 200);
    assert.equal(cold.maxUs, 9000);
    assert.equal(steady.maxUs, 300);
  });

  it('counts the slow messages a GC of the process overlapped, and the p99 without them', () => {
    // Steady messages 150 and 250 are slow; a 5 ms scavenge runs while 250 is in flight.
    const samples = timeline(300, { 150: 4000, 250: 6000 });
    const gc: GcEntry[] = [[T0 + 250.1, 5, 1]];
    const { steady } = tailReport(samples, 100, gc, []);
    assert.equal(steady.gcs, 1);
    assert.deepEqual(steady.gcByKind, { scavenge: '1 × 5.00 ms' });
    assert.equal(steady.p99Us, 4000);
    assert.equal(steady.slowHitByGcPct, 50);
    assert.equal(steady.slowHitByHarnessGcPct, 0);
    // Without the message the GC held up, the p99 falls to the others' 300 µs.
    assert.equal(steady.p99WithoutGcHitUs, 300);
    const [worst] = steady.episodes;
    assert.ok(worst);
    assert.equal(worst.maxLatencyUs, 6000);
    assert.deepEqual(worst.gc, ['scavenge 5.00 ms']);
  });

  it("tells a GC of the sensor or sink apart from the process's own", () => {
    const samples = timeline(300, { 150: 4000, 250: 6000 });
    const harness: GcEntry[] = [[T0 + 150.2, 3, 4]];
    const { steady } = tailReport(samples, 100, [], harness);
    assert.equal(steady.slowHitByGcPct, 0);
    assert.equal(steady.slowHitByHarnessGcPct, 50);
    assert.deepEqual(steady.episodes.find((e) => e.maxLatencyUs === 4000)?.harnessGc, [
      'mark-compact 3.00 ms',
    ]);
  });

  it('groups slow messages stuck behind one stall into one episode', () => {
    const samples = timeline(300, { 200: 5000, 201: 5000, 202: 5000 });
    const { steady } = tailReport(samples, 100, [], []);
    const [only, ...others] = steady.episodes;
    assert.ok(only);
    assert.equal(others.length, 0);
    assert.equal(only.messages, 3);
    assert.equal(only.atMs, 100);
  });
});

describe('profileSamples', () => {
  const clock = { epochMs: T0, monotonicNs: 5_000_000_000 };
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2, 4] },
      {
        id: 2,
        callFrame: { functionName: 'onStreamRead', url: 'node:internal/stream_base_commons', lineNumber: 1 },
        children: [3],
      },
      {
        id: 3,
        callFrame: {
          functionName: '#dispatch',
          url: 'file:///x/agent/bundle/wasmfleet-agent.js',
          lineNumber: 9,
        },
      },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
    ],
    // Monotonic µs: 5 s on the clock is T0 on the epoch.
    startTime: 5_000_000,
    samples: [3, 4, 3],
    timeDeltas: [100, 100, 2000],
  };

  it('puts each tick on the epoch time line, named by its event-loop entry and innermost frame', () => {
    const ticks = profileSamples(profile, clock);
    assert.deepEqual(ticks[0], {
      atMs: T0 + 0.1,
      entry: 'onStreamRead stream_base_commons',
      leaf: '#dispatch wasmfleet-agent.js',
    });
    assert.equal(ticks[1]?.entry, '(idle)');
  });

  it('fills a gap of a millisecond or more between ticks as time off the CPU', () => {
    const ticks = profileSamples(profile, clock);
    const off = ticks.filter((t) => t.entry.startsWith('(no profiler tick'));
    assert.equal(off.length, 10);
    assert.ok(off.every((t) => t.atMs > T0 + 0.2 && t.atMs < T0 + 2.2));
    assert.equal(ticks.at(-1)?.leaf, '#dispatch wasmfleet-agent.js');
  });
});

describe('allocationSites', () => {
  it('sums bytes by allocating frame and caller, per message, largest first', () => {
    const frame = (functionName: string, url = 'file:///b/x.js') => ({ functionName, url });
    const head = {
      callFrame: frame('(root)', ''),
      selfSize: 0,
      children: [
        {
          callFrame: frame('parse'),
          selfSize: 1000,
          children: [{ callFrame: frame('copy'), selfSize: 4000, children: [] }],
        },
        { callFrame: frame('publish'), selfSize: 2000, children: [] },
      ],
    };
    const { totalBytesPerMessage, sites } = allocationSites({ head }, 10);
    assert.equal(totalBytesPerMessage, 700);
    assert.deepEqual(Object.entries(sites), [
      ['copy x.js ← parse x.js', 400],
      ['publish x.js ← (root)', 200],
      ['parse x.js ← (root)', 100],
    ]);
  });
});
