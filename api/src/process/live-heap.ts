// SPDX-License-Identifier: Apache-2.0
// The V8 heap in use right after the latest major (mark-compact) collection: what is still
// alive, the figure a leak raises. Heap-in-use sampled at a random moment is a sawtooth that
// mostly tells when the collector last ran. One observer per process, started on first use.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** A 'gc' performance entry (@types/node types entries without their detail). */
interface GcEntry {
  readonly detail?: { readonly kind?: number };
}

let latest: number | undefined;
let observer: PerformanceObserver | undefined;

/** Bytes of live heap after the last major GC; undefined until one has happened. */
export function liveHeapBytes(): number | undefined {
  if (!observer) {
    observer = new PerformanceObserver((list) => {
      const major = list
        .getEntries()
        .some((e) => (e as GcEntry).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR);
      // The entry arrives shortly after the collection; what was allocated since is noise
      // far below what a leak adds over a soak.
      if (major) latest = getHeapStatistics().used_heap_size;
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return latest;
}
