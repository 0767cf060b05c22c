// SPDX-License-Identifier: Apache-2.0
// The latency benchmark's sensor and sink: end-to-end latency at 1k msg/s (QoS 0, 16 B carrying
// the send time), paced exactly. One harness serves every contender of a run, so its code is as
// warm for the last contender as for the first: the sensor (pacer.ts) and the sink (sink.ts) are
// worker threads with small heaps of their own, the sink writes each arrival into shared arrays
// (no object per message), and both collect their garbage before each series. A sink that ran on
// the benchmark's main thread, allocating per message, had 5–33 ms GCs of its own that landed on
// whichever contender ran then (docs/benchmarks.md, "Where the tail comes from").
// A series sends `cold` messages from the start of the process under test (its first seconds,
// while V8 still compiles its hot paths), then `steady` more; both p99s are reported side by side.
import { readdir, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { percentile, type GcEntry, type Sample } from './tail-analysis.ts';

/** One latency series as the sink saw it, the harness's own GCs beside it. */
export interface LatencyRun {
  p50Us: number;
  p99Us: number;
  /** The first `cold` messages alone: the process's cold tail, beside the steady one. */
  p99ColdUs: number;
  p99UsWithWarmUp: number;
  received: number;
  /** Every message, in the order sent. */
  samples: Sample[];
  /** Garbage collections of the sensor and of the sink during the series. */
  harnessGc: GcEntry[];
  /** Given a pid: the process's CPU by thread name, cold and steady. */
  threads?: Record<string, { coldMs: number; steadyMs: number }>;
}

// The harness threads collect their garbage before each series (gc-log.ts); --expose-gc is
// process-wide, so setting it here reaches the workers.
setFlagsFromString('--expose-gc');

export class LatencyHarness {
  readonly #pacer: Worker;
  readonly #sink: Worker;
  readonly #sentMs: Float64Array;
  readonly #receivedMs: Float64Array;
  readonly #cold: number;
  readonly #steady: number;

  private constructor(url: string, cold: number, steady: number) {
    const sent = new SharedArrayBuffer((cold + steady) * 8);
    const received = new SharedArrayBuffer((cold + steady) * 8);
    this.#pacer = new Worker(new URL('./pacer.ts', import.meta.url), {
      workerData: { url, perSecond: 1000 },
    });
    this.#sink = new Worker(new URL('./sink.ts', import.meta.url), {
      workerData: { url, sentMs: sent, receivedMs: received },
    });
    this.#sentMs = new Float64Array(sent);
    this.#receivedMs = new Float64Array(received);
    this.#cold = cold;
    this.#steady = steady;
  }

  static async start(url: string, phases: { cold: number; steady: number }): Promise<LatencyHarness> {
    const h = new LatencyHarness(url, phases.cold, phases.steady);
    await Promise.all([once(h.#pacer, 'message'), once(h.#sink, 'message')]);
    return h;
  }

  /**
   * Sends a series to `input` and times its arrivals on `output` (the same topic: the harness and
   * the broker alone, the floor every contender stands on). With `pid`, also that process's CPU
   * by thread in each phase.
   */
  async series(input: string, output: string, pid?: number): Promise<LatencyRun> {
    this.#sink.postMessage({ subscribe: output });
    await once(this.#sink, 'message');
    this.#pacer.postMessage({ topic: input, count: this.#cold + this.#steady });
    const cpuAtStart = pid === undefined ? undefined : await threadCpuMs(pid);
    let cpuAtColdEnd: Promise<Map<string, number>> | undefined;
    // The pacer starts 50 ms after it is asked, then sends one message a millisecond.
    const coldTimer =
      pid === undefined
        ? undefined
        : setTimeout(() => {
            cpuAtColdEnd = threadCpuMs(pid);
          }, 50 + this.#cold);
    const [{ gc: pacerGc }] = (await once(this.#pacer, 'message')) as [{ gc: GcEntry[] }];
    clearTimeout(coldTimer);
    const threads =
      cpuAtStart && cpuAtColdEnd && pid !== undefined
        ? threadCpuSplit(cpuAtStart, await cpuAtColdEnd, await threadCpuMs(pid))
        : undefined;
    this.#sink.postMessage({ done: true });
    const [{ count, gc: sinkGc }] = (await once(this.#sink, 'message')) as [{ count: number; gc: GcEntry[] }];
    const timeline: Sample[] = [];
    for (let i = 0; i < count; i++) {
      const sentMs = this.#sentMs[i] ?? NaN;
      timeline.push({ sentMs, latencyUs: ((this.#receivedMs[i] ?? NaN) - sentMs) * 1000 });
    }
    // In the order sent: a message overtaken by a later one still belongs to its own phase.
    timeline.sort((a, b) => a.sentMs - b.sentMs);
    const latencies = timeline.map((s) => s.latencyUs);
    const steady = latencies.slice(this.#cold);
    return {
      p50Us: percentile(steady, 50),
      p99Us: percentile(steady, 99),
      p99ColdUs: percentile(latencies.slice(0, this.#cold), 99),
      p99UsWithWarmUp: percentile(latencies, 99),
      received: steady.length,
      samples: timeline,
      harnessGc: [...pacerGc, ...sinkGc],
      threads,
    };
  }

  close(): void {
    this.#pacer.postMessage({});
    this.#sink.postMessage({ end: true });
  }
}

/**
 * CPU ms of each thread of a process, summed by thread name: the scheduler's run time
 * (/proc/<pid>/task/<tid>/schedstat, in ns), not utime + stime, whose 10 ms ticks are too coarse
 * for a native process that spends ~30 ms over a 3-second series.
 */
async function threadCpuMs(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const runNs = Number(
      (await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '0')).split(' ')[0],
    );
    out.set(name, (out.get(name) ?? 0) + runNs / 1e6);
  }
  return out;
}

/** Per thread name: CPU ms in the cold phase and in the steady phase. */
function threadCpuSplit(
  start: Map<string, number>,
  coldEnd: Map<string, number>,
  end: Map<string, number>,
): Record<string, { coldMs: number; steadyMs: number }> {
  const out: Record<string, { coldMs: number; steadyMs: number }> = {};
  for (const [name, ms] of end) {
    const atCold = coldEnd.get(name) ?? 0;
    out[name] = { coldMs: atCold - (start.get(name) ?? 0), steadyMs: ms - atCold };
  }
  return out;
}
