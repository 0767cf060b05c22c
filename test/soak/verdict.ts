// SPDX-License-Identifier: Apache-2.0
// The soak's bounds and its table: growth per hour of each process's RSS, V8 heap, open
// descriptors and threads, fitted after the warm-up on per-window floors (see growth.ts), and
// compared with the bounds below. docs/reliability.md ("Soak") explains how they were chosen.
import { growth, type Growth, type Point } from './growth.ts';
import type { Sample } from './sampler.ts';

const MiB = 1024 * 1024;

export type Metric = 'rssBytes' | 'heapLiveBytes' | 'fds' | 'threads';
export const METRICS: readonly Metric[] = ['rssBytes', 'heapLiveBytes', 'fds', 'threads'];

/**
 * Allowed growth per hour of the floor of each metric, per process. At the soak's rate (about
 * 1,200 cycles and 200,000 messages an hour on the shared 2-core machine) a leak of one worker,
 * socket or thread per 40 cycles, of 128 KiB of native memory per cycle, or of 64 bytes of heap
 * per message, goes over these. RSS gets the widest margin: it moves in steps (allocator arenas,
 * the kernel reclaiming pages when other jobs need memory), and healthy agents fitted up to
 * +87 MiB/h over a 10-minute run while still warming up (docs/reliability.md, "Soak").
 */
export const BOUNDS_PER_HOUR: Readonly<Record<Metric, number>> = {
  rssBytes: 128 * MiB,
  heapLiveBytes: 12 * MiB,
  fds: 30,
  threads: 30,
};

/**
 * The operator's live heap still creeps while its code warms up (V8 code, type feedback, the
 * kube client's lazily built models): +6…+12 MiB/h over 10-minute runs, +5 MiB/h in the
 * 40-minute run after its warm-up. Its event recorder's bounded cache is not part of this: the
 * soak runs it with a 2-minute window, full before the fit starts (stack.ts).
 */
const OPERATOR_HEAP_ALLOWANCE = 8 * MiB;

export function boundFor(process: string, metric: Metric): number {
  const base = BOUNDS_PER_HOUR[metric];
  return process === 'operator' && metric === 'heapLiveBytes' ? base + OPERATOR_HEAP_ALLOWANCE : base;
}

export interface Row {
  readonly process: string;
  readonly metric: Metric;
  readonly growth: Growth;
  readonly bound: number;
  readonly ok: boolean;
}

/**
 * Judges the samples taken at quiet points only (no cycle in flight, every agent running just the
 * steady function): between them a process holds whatever the cycles in flight need — a worker
 * thread and its descriptors per function — and with two lanes a minute can pass without a
 * moment free of them, so a window's floor said how busy it was, not what had leaked.
 */
export function verdict(all: readonly Sample[], warmupMs: number, windowMs: number): Row[] {
  const samples = all.filter((s) => s.quiet);
  const rows: Row[] = [];
  const processes = [...new Set(samples.map((s) => s.process))];
  for (const process of processes) {
    const mine = samples.filter((s) => s.process === process);
    for (const metric of METRICS) {
      // The warm-up counts from the start of the run (t = 0), not from the first quiet point.
      const points: Point[] = mine.flatMap((s) => {
        const v = s[metric];
        return v === undefined || s.t < warmupMs ? [] : [{ t: s.t, v }];
      });
      if (!mine.some((s) => s[metric] !== undefined)) continue; // Mosquitto has no V8 heap
      const g = growth(points, 0, windowMs);
      const bound = boundFor(process, metric);
      rows.push({ process, metric, growth: g, bound, ok: g.windows >= 3 && g.perHour <= bound });
    }
  }
  return rows;
}

function show(metric: Metric, v: number): string {
  if (Number.isNaN(v)) return '-';
  return metric === 'rssBytes' || metric === 'heapLiveBytes' ? `${(v / MiB).toFixed(1)} MiB` : v.toFixed(1);
}

export function table(rows: readonly Row[]): string {
  const header = ['process', 'metric', 'start', 'end', 'growth/h', 'bound/h', ''];
  const body = rows.map((r) => [
    r.process,
    r.metric,
    show(r.metric, r.growth.start),
    show(r.metric, r.growth.end),
    show(r.metric, r.growth.perHour),
    show(r.metric, r.bound),
    r.ok ? 'ok' : 'OVER',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}
