// SPDX-License-Identifier: Apache-2.0
// CPU time and resident memory of a process, read from /proc (Linux), and a sampler that keeps
// the peak RSS of several processes between two marks.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds the process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command (which may hold spaces) start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (0 once the process is gone). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** Peak RSS per named process since the last `reset()`, sampled every `everyMs`. */
export class RssSampler {
  readonly #pids: ReadonlyMap<string, () => readonly number[]>;
  readonly #peak = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(pids: ReadonlyMap<string, () => readonly number[]>, everyMs = 1000) {
    this.#pids = pids;
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
  }

  sample(): void {
    for (const [name, pids] of this.#pids) {
      const rss = pids().reduce((sum, pid) => sum + rssBytes(pid), 0);
      this.#peak.set(name, Math.max(this.#peak.get(name) ?? 0, rss));
    }
  }

  /** Peak RSS per name since the last reset, and starts a new window. */
  reset(): Map<string, number> {
    this.sample();
    const peaks = new Map(this.#peak);
    this.#peak.clear();
    return peaks;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
