// SPDX-License-Identifier: Apache-2.0
// A thread's garbage collections as [start epoch ms, duration ms, perf_hooks kind], for the latency
// benchmark's harness threads (pacer.ts, sink.ts): a pause there delays messages on their way to
// or from the process under test, and tail-analysis.ts tells those apart from the process's own.
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import type { GcEntry } from './tail-analysis.ts';

/**
 * Records this thread's GCs from now on. `fresh()` collects this thread's garbage now (the
 * benchmark's main thread sets --expose-gc, which is process-wide), so that earlier work's garbage
 * is not collected during the next series, and starts a new list; `take()` returns the list.
 */
export function gcLog(): { fresh(): void; take(): GcEntry[] } {
  let entries: GcEntry[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
      entries.push([performance.timeOrigin + e.startTime, e.duration, kind]);
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    fresh() {
      (runInNewContext('gc') as () => void)();
      entries = [];
    },
    take() {
      const taken = entries;
      entries = [];
      return taken;
    },
  };
}
