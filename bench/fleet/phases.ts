// SPDX-License-Identifier: Apache-2.0
// The fleet benchmark's phases, each measured the same way: from the action until the API server
// shows the outcome, then API writes until they stop (capped), the CPU each process used, peak
// RSS and the broker's message counters over the same window.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { waitFor, type ControlPlane, type Mosquitto } from '@wasmfleet/test-support';
import { difference, total, writesByResource, type WriteCounts } from './measure/api-writes.ts';
import type { BrokerCounters } from './measure/broker-stats.ts';
import { cpuSeconds, type RssSampler } from './measure/process-usage.ts';
import type { OperatorProcess } from './fleet-stack.ts';
import type { Swarm } from './sim/swarm.ts';

export interface FleetBench {
  readonly plane: ControlPlane;
  readonly broker: Mosquitto;
  readonly operator: OperatorProcess;
  readonly swarm: Swarm;
  readonly api: CustomObjectsApi;
  readonly namespace: string;
  readonly nodes: readonly string[];
  readonly counters: BrokerCounters;
  readonly sampler: RssSampler;
  /** name → pids, for CPU accounting (the same names as the sampler's). */
  readonly processes: ReadonlyMap<string, () => readonly number[]>;
}

export interface PhaseResult {
  readonly name: string;
  readonly ms: number;
  /** API writes the fleet's machinery made (the benchmark's own writes subtracted). */
  readonly writes: number;
  readonly writesByResource: ReadonlyMap<string, number>;
  /** Writes were still coming when the settle cap ended the count. */
  readonly stillWriting: boolean;
  readonly cpuSeconds: ReadonlyMap<string, number>;
  readonly peakRss: ReadonlyMap<string, number>;
  readonly mqttReceived: number;
  readonly mqttSent: number;
  /** The operator's live JavaScript heap at the phase's end (RSS also holds garbage not yet collected). */
  readonly operatorHeapUsed: number;
  /** The operator's heap right after its latest major GC: what it really holds. */
  readonly operatorHeapLive: number;
  readonly note?: string;
}

export interface PhaseOptions {
  readonly timeoutMs?: number;
  /** Writes are counted until they stop for 2 s, but no longer than this after `done`. */
  readonly settleMaxMs?: number;
  /** Writes the benchmark itself makes in `act` (e.g. relabels), subtracted. */
  readonly ownWrites?: number;
}

const writes = (b: FleetBench): Promise<WriteCounts> =>
  writesByResource(b.plane.server, b.plane.token, b.plane.caPem);

function cpuNow(b: FleetBench): Map<string, number> {
  return new Map(
    [...b.processes].map(([name, pids]) => [name, pids().reduce((s, pid) => s + cpuSeconds(pid), 0)]),
  );
}

export async function measure(
  b: FleetBench,
  name: string,
  act: () => Promise<unknown>,
  done: () => Promise<boolean>,
  options: PhaseOptions = {},
): Promise<PhaseResult & { readonly done: number }> {
  const before = await writes(b);
  const cpu0 = cpuNow(b);
  const received0 = b.counters.received;
  const sent0 = b.counters.sent;
  b.sampler.reset();
  const t0 = performance.now();
  await act();
  await waitFor(name, async () => ((await done()) ? true : undefined), {
    timeoutMs: options.timeoutMs ?? 1_800_000,
    intervalMs: 100,
  });
  const ms = performance.now() - t0;
  const { counts, still } = await settled(b, options.settleMaxMs ?? 60_000);
  const cpu1 = cpuNow(b);
  const byResource = difference(counts, before);
  // $SYS counters lag by up to sys_interval.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const result = {
    name,
    ms,
    done: ms,
    writes: total(byResource) - (options.ownWrites ?? 0),
    writesByResource: byResource,
    stillWriting: still,
    cpuSeconds: new Map([...cpu1].map(([k, v]) => [k, v - (cpu0.get(k) ?? 0)])),
    peakRss: b.sampler.reset(),
    mqttReceived: b.counters.received - received0,
    mqttSent: b.counters.sent - sent0,
    operatorHeapUsed: await heapUsed(b),
    operatorHeapLive: await heapLive(b),
  };
  console.error(
    `  ${name}: ${(ms / 1000).toFixed(2)} s, ${result.writes} writes${still ? ' (still writing)' : ''}, operator ${(result.cpuSeconds.get('operator') ?? 0).toFixed(1)} CPU-s, ${operatorMemory(result)}`,
  );
  return result;
}

const MiB = 1024 * 1024;
const operatorMemory = (p: PhaseResult): string =>
  `peak RSS ${((p.peakRss.get('operator') ?? 0) / MiB).toFixed(0)} MiB, live heap ${(p.operatorHeapLive / MiB).toFixed(0)} MiB`;

function heapUsed(b: FleetBench): Promise<number> {
  return b.operator.metric('wasmfleet_nodejs_heap_size_used_bytes').catch(() => 0);
}

function heapLive(b: FleetBench): Promise<number> {
  return b.operator.metric('wasmfleet_nodejs_heap_live_bytes').catch(() => 0);
}

/** Write counts once they have not moved for 2 s, or at the cap (then `still` is true). */
async function settled(b: FleetBench, maxMs: number): Promise<{ counts: WriteCounts; still: boolean }> {
  const until = Date.now() + maxMs;
  let last = await writes(b);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const now = await writes(b);
    if (total(now) === total(last)) return { counts: now, still: false };
    last = now;
    if (Date.now() > until) return { counts: now, still: true };
  }
}

/** Nothing changes for `ms`: what the fleet costs at rest (heartbeats flow). */
export async function atRest(b: FleetBench, ms: number): Promise<PhaseResult> {
  const before = await writes(b);
  const cpu0 = cpuNow(b);
  const received0 = b.counters.received;
  const sent0 = b.counters.sent;
  b.sampler.reset();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const byResource = difference(await writes(b), before);
  const cpu1 = cpuNow(b);
  const result = {
    name: `at rest for ${ms / 1000} s`,
    ms,
    writes: total(byResource),
    writesByResource: byResource,
    stillWriting: false,
    cpuSeconds: new Map([...cpu1].map(([k, v]) => [k, v - (cpu0.get(k) ?? 0)])),
    peakRss: b.sampler.reset(),
    mqttReceived: b.counters.received - received0,
    mqttSent: b.counters.sent - sent0,
    operatorHeapUsed: await heapUsed(b),
    operatorHeapLive: await heapLive(b),
  };
  console.error(
    `  at rest: ${result.writes} writes in ${ms / 1000} s (${((result.writes * 1000) / ms).toFixed(2)}/s), ${operatorMemory(result)}`,
  );
  return result;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pooled<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}
