// SPDX-License-Identifier: Apache-2.0
// Samples every watched process every few seconds: RSS, threads and open descriptors from /proc,
// and the live V8 heap (after the latest major GC) from the process's own /metrics. A sample that fails (a scrape that times out
// on a loaded machine) is skipped, not fatal: the fit needs many points, not every point.
import { metricValue, processStats } from './process-stats.ts';
import type { Watched } from './stack.ts';

export interface Sample {
  /** ms since the sampler started. */
  readonly t: number;
  readonly process: string;
  readonly rssBytes: number;
  readonly heapLiveBytes: number | undefined;
  readonly fds: number;
  readonly threads: number;
  /** Taken at a quiet point: no cycle in flight, every agent running only the steady function. */
  readonly quiet: boolean;
}

export class Sampler {
  readonly samples: Sample[] = [];
  readonly #started = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  failures = 0;

  readonly watched: readonly Watched[];
  readonly intervalMs: number;

  constructor(watched: readonly Watched[], intervalMs: number) {
    this.watched = watched;
    this.intervalMs = intervalMs;
  }

  start(): void {
    const tick = (): void => {
      this.#running = this.sampleOnce().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.intervalMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async sampleOnce(quiet = false): Promise<void> {
    const t = Date.now() - this.#started;
    await Promise.all(
      this.watched.map(async (w) => {
        try {
          const stats = await processStats(w.pid);
          const heapLiveBytes =
            w.metricsUrl && w.heapMetric ? await heapOf(w.metricsUrl, w.heapMetric) : undefined;
          this.samples.push({ t, process: w.name, ...stats, heapLiveBytes, quiet });
        } catch {
          this.failures++;
        }
      }),
    );
  }
}

/** Undefined until the process has had its first major GC (the live-heap gauge is empty before). */
async function heapOf(url: string, metric: string): Promise<number | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return metricValue(await res.text(), metric);
}

export function samplesCsv(samples: readonly Sample[]): string {
  const rows = samples.map((s) =>
    [s.t, s.process, s.rssBytes, s.heapLiveBytes ?? '', s.fds, s.threads, s.quiet ? 1 : 0].join(','),
  );
  return `t_ms,process,rss_bytes,heap_live_bytes,fds,threads,quiet\n${rows.join('\n')}\n`;
}
