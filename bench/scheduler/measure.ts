// SPDX-License-Identifier: Apache-2.0
// Timing and heap measurement helpers. Timings are reported, never asserted: the machine is shared.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Lets the benchmark collect garbage between measurements without a command-line flag.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function settledHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export interface Sample {
  readonly ms: number[];
  /** Heap still held after the last iteration (what its result keeps alive), bytes. */
  readonly retainedBytes: number;
  /** Live heap after the scenario, garbage collected: everything the benchmark still holds. */
  readonly heapAfterBytes: number;
}

/** Runs `body` `iterations` times; keeps the last result alive while measuring what it retains. */
export function measure<T>(iterations: number, body: (i: number) => T): { sample: Sample; last: T } {
  const ms: number[] = [];
  let last: T | undefined;
  const before = settledHeap();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    last = body(i);
    ms.push(performance.now() - t0);
  }
  const after = settledHeap();
  return { sample: { ms, retainedBytes: after - before, heapAfterBytes: after }, last: last as T };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
