// SPDX-License-Identifier: Apache-2.0
// Preloaded (`node --import`) into a process under test by the latency benchmark's --tail mode:
// records the process's garbage collections (start in epoch ms, duration, kind) and, once, a
// pair of clocks (epoch ms, CLOCK_MONOTONIC ns) so a `--cpu-prof` profile's timestamps can be put
// on the same time line as the sink's samples. Written to $WASMFLEET_TAIL_PROBE_OUT on exit. The
// benchmark runs it as JavaScript (types stripped), so it adds no type stripping to the process.
// With $WASMFLEET_TAIL_HEAP_PROF set it also samples what the process allocates, garbage that
// minor and major GCs collected included (a plain --heap-prof keeps only what survives), and
// writes that profile there on exit. It also records how late the event loop ran a 10 ms timer
// (perf_hooks monitorEventLoopDelay) over the process's life: a loop held by a long task or a GC
// shows there, a process that waited for the CPU does not (it was not running to be late).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import {
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
  type PerformanceEntry,
} from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

/** [start epoch ms, duration ms, kind (perf_hooks NODE_PERFORMANCE_GC_*: 1 scavenge, 4 mark-compact, 8 incremental, 16 weak callbacks)] */
type GcEntry = [number, number, number];

const out = process.env.WASMFLEET_TAIL_PROBE_OUT;
if (out) {
  const origin = performance.timeOrigin;
  const gc: GcEntry[] = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
      gc.push([origin + entry.startTime, entry.duration, kind]);
    }
  }).observe({ entryTypes: ['gc'] });
  const clock = { epochMs: origin + performance.now(), monotonicNs: Number(process.hrtime.bigint()) };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.on('exit', () => {
    loop.disable();
    // The histogram holds each interval between the timer's runs: late is what exceeds 10 ms.
    const ms = (ns: number): number => +Math.max(0, ns / 1e6 - 10).toFixed(2);
    const loopDelayMs = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
    // The young generation's size at the end: V8 grows it with what survives its scavenges.
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name, +(s.space_size / 1048576).toFixed(2)]),
    );
    writeFileSync(out, JSON.stringify({ clock, gc, spaces, loopDelayMs }));
  });
}

const heapOut = process.env.WASMFLEET_TAIL_HEAP_PROF;
if (heapOut) {
  // A session on this thread answers synchronously, so the profile can be taken in 'exit'.
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.on('exit', () =>
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (!error) writeFileSync(heapOut, JSON.stringify(result.profile));
    }),
  );
}
