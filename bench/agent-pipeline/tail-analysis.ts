// SPDX-License-Identifier: Apache-2.0
// Where a latency tail comes from, from the outside: each message's time line (sent at, latency,
// both from the sink) is laid over what the process under test recorded about itself — its
// garbage collections (tail-probe.ts) and, optionally, the samples of a `--cpu-prof` profile
// mapped onto the same clock. Pure: the benchmark (run.ts --tail) collects, this summarises.
// Messages are split cold (the first `coldCount` sent, the process's first seconds) and steady.

/** One message as the sink saw it. */
export interface Sample {
  readonly sentMs: number;
  readonly latencyUs: number;
}

/** [start epoch ms, duration ms, perf_hooks kind] as tail-probe.ts writes them. */
export type GcEntry = readonly [number, number, number];

/** One profiler sample of the process's main thread: when, and what it was doing. */
export interface ProfileSample {
  readonly atMs: number;
  /** The event-loop entry the stack started from (timers, socket read, immediate, …) or a V8 state. */
  readonly entry: string;
  /** The innermost frame. */
  readonly leaf: string;
}

export interface Episode {
  /** When its first message was sent, ms after the first message of its phase. */
  readonly atMs: number;
  readonly messages: number;
  readonly maxLatencyUs: number;
  /** GCs overlapping it: kind and duration in ms; of the process, and of the harness. */
  readonly gc: string[];
  readonly harnessGc: string[];
  /** What the main thread did during it (profile), most samples first. */
  readonly busy: string[];
}

export interface PhaseTail {
  readonly messages: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly gcs: number;
  readonly gcMs: number;
  readonly gcMaxMs: number;
  /** GCs by kind: count and milliseconds. */
  readonly gcByKind: Record<string, string>;
  /** Of the messages at or above this phase's p99, the share whose time in flight overlaps a GC. */
  readonly slowHitByGcPct: number;
  /** The same share over every message of the phase: what chance alone would give. */
  readonly allHitByGcPct: number;
  /** p99 over the messages no GC overlapped (how far the tail falls without them). */
  readonly p99WithoutGcHitUs: number;
  /** Of the slow messages, the share a GC of the harness (sensor or sink) overlapped instead. */
  readonly slowHitByHarnessGcPct: number;
  /** Share of profile samples by event-loop entry during the slow messages, and overall. */
  readonly busyDuringSlow?: Record<string, number>;
  /** The same by innermost frame. */
  readonly busyDuringSlowLeaf?: Record<string, number>;
  readonly busyOverall?: Record<string, number>;
  /** The worst stalls: slow messages grouped by overlapping time in flight. */
  readonly episodes: Episode[];
}

/** perf_hooks' NODE_PERFORMANCE_GC_* kinds. */
const GC_KINDS: Record<number, string> = {
  1: 'scavenge',
  2: 'minor-ms',
  4: 'mark-compact',
  8: 'incremental',
  16: 'weakcb',
};

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN);
}

const end = (s: Sample): number => s.sentMs + s.latencyUs / 1000;

/** GCs that ran while the message was in flight (sent → received). */
function gcsDuring(s: Sample, gcs: readonly GcEntry[]): GcEntry[] {
  return gcs.filter(([start, ms]) => start < end(s) && start + ms > s.sentMs);
}

/** Shares (in %) of each key, the largest first, the rest summed as "other". */
function shares(keys: readonly string[], top = 6): Record<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const out: Record<string, number> = {};
  let other = 0;
  sorted.forEach(([k, n], i) => {
    if (i < top) out[k] = +((100 * n) / keys.length).toFixed(1);
    else other += n;
  });
  if (other > 0) out.other = +((100 * other) / keys.length).toFixed(1);
  return out;
}

function samplesIn(profile: readonly ProfileSample[], from: number, to: number): ProfileSample[] {
  return profile.filter((p) => p.atMs >= from && p.atMs <= to);
}

/** Slow messages whose times in flight overlap (or touch within 1 ms) form one episode. */
function episodes(
  slow: readonly Sample[],
  gcs: readonly GcEntry[],
  harnessGcs: readonly GcEntry[],
  profile: readonly ProfileSample[] | undefined,
  t0: number,
): Episode[] {
  const groups: Sample[][] = [];
  for (const s of [...slow].sort((a, b) => a.sentMs - b.sentMs)) {
    const last = groups.at(-1);
    if (last && s.sentMs <= Math.max(...last.map(end)) + 1) last.push(s);
    else groups.push([s]);
  }
  return groups
    .map((g) => {
      const from = Math.min(...g.map((s) => s.sentMs));
      const to = Math.max(...g.map(end));
      const overlapping = (list: readonly GcEntry[]): string[] =>
        list
          .filter(([start, ms]) => start < to && start + ms > from)
          .map(([, ms, kind]) => `${GC_KINDS[kind] ?? kind} ${ms.toFixed(2)} ms`);
      const busy = profile
        ? Object.entries(
            shares(
              samplesIn(profile, from, to).map((p) => `${p.entry} › ${p.leaf}`),
              3,
            ),
          ).map(([k, v]) => `${k} ${v}%`)
        : [];
      return {
        atMs: Math.round(from - t0),
        messages: g.length,
        maxLatencyUs: Math.round(Math.max(...g.map((s) => s.latencyUs))),
        gc: overlapping(gcs),
        harnessGc: overlapping(harnessGcs),
        busy,
      };
    })
    .sort((a, b) => b.maxLatencyUs - a.maxLatencyUs)
    .slice(0, 8);
}

function byKind(gcs: readonly GcEntry[]): Record<string, string> {
  const out: Record<string, { n: number; ms: number }> = {};
  for (const [, ms, kind] of gcs) {
    const k = (out[GC_KINDS[kind] ?? String(kind)] ??= { n: 0, ms: 0 });
    k.n++;
    k.ms += ms;
  }
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, `${v.n} × ${(v.ms / v.n).toFixed(2)} ms`]),
  );
}

/** The tail of one phase (cold or steady) of one process's run. */
export function phaseTail(
  samples: readonly Sample[],
  gcs: readonly GcEntry[],
  harnessGcs: readonly GcEntry[],
  profile: readonly ProfileSample[] | undefined,
): PhaseTail {
  const latencies = samples.map((s) => s.latencyUs);
  const p99 = percentile(latencies, 99);
  const from = Math.min(...samples.map((s) => s.sentMs));
  const to = Math.max(...samples.map(end));
  const inPhase = gcs.filter(([start]) => start >= from && start <= to);
  const hit = samples.map((s) => gcsDuring(s, gcs).length > 0);
  const slow = samples.filter((s) => s.latencyUs >= p99);
  const slowHit = samples.filter((s, i) => s.latencyUs >= p99 && hit[i]).length;
  const pct = (n: number, of: number): number => +((100 * n) / Math.max(1, of)).toFixed(1);
  const profileInPhase = profile && samplesIn(profile, from, to);
  return {
    messages: samples.length,
    p50Us: percentile(latencies, 50),
    p99Us: p99,
    p999Us: percentile(latencies, 99.9),
    maxUs: Math.round(Math.max(...latencies)),
    gcs: inPhase.length,
    gcMs: +inPhase.reduce((sum, [, ms]) => sum + ms, 0).toFixed(1),
    gcMaxMs: +Math.max(0, ...inPhase.map(([, ms]) => ms)).toFixed(2),
    gcByKind: byKind(inPhase),
    slowHitByGcPct: pct(slowHit, slow.length),
    allHitByGcPct: pct(hit.filter(Boolean).length, samples.length),
    slowHitByHarnessGcPct: pct(slow.filter((s) => gcsDuring(s, harnessGcs).length > 0).length, slow.length),
    p99WithoutGcHitUs: percentile(
      samples.filter((_, i) => !hit[i]).map((s) => s.latencyUs),
      99,
    ),
    ...(profileInPhase
      ? {
          busyDuringSlow: shares(
            slow.flatMap((s) => samplesIn(profileInPhase, s.sentMs, end(s)).map((p) => p.entry)),
          ),
          busyDuringSlowLeaf: shares(
            slow.flatMap((s) => samplesIn(profileInPhase, s.sentMs, end(s)).map((p) => p.leaf)),
            12,
          ),
          busyOverall: shares(profileInPhase.map((p) => p.entry)),
        }
      : {}),
    episodes: episodes(slow, gcs, harnessGcs, profileInPhase, from),
  };
}

/** Cold (the first `coldCount` messages sent) and steady (the rest), side by side. */
export function tailReport(
  samples: readonly Sample[],
  coldCount: number,
  gcs: readonly GcEntry[],
  harnessGcs: readonly GcEntry[],
  profile?: readonly ProfileSample[],
): { cold: PhaseTail; steady: PhaseTail } {
  const bySend = [...samples].sort((a, b) => a.sentMs - b.sentMs);
  return {
    cold: phaseTail(bySend.slice(0, coldCount), gcs, harnessGcs, profile),
    steady: phaseTail(bySend.slice(coldCount), gcs, harnessGcs, profile),
  };
}

// ---------------------------------------------------------------------- --cpu-prof profiles

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const file = url.replace(/^.*\/node_modules\//, '').replace(/^.*\//, '');
  return `${functionName || '(anonymous)'} ${file}`;
}

const NOT_RUNNING = '(no profiler tick: process not on a CPU)';
const GAP_US = 1000;
const FILL_US = 100;

/**
 * The profile's samples on the epoch time line. `clock` pairs an epoch time with the same instant
 * on CLOCK_MONOTONIC, which V8's profiler timestamps (µs) also count on Linux.
 */
export function profileSamples(
  profile: CpuProfile,
  clock: { readonly epochMs: number; readonly monotonicNs: number },
): ProfileSample[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The frame just below the root: which event-loop callback the stack started from. */
  const entryOf = (id: number): string => {
    let cur = id;
    for (;;) {
      const up = parent.get(cur);
      if (up === undefined || byId.get(up)?.callFrame.functionName === '(root)') break;
      cur = up;
    }
    const node = byId.get(cur);
    return node ? frameName(node) : '?';
  };
  const out: ProfileSample[] = [];
  const at = (us: number): number => clock.epochMs + (us * 1000 - clock.monotonicNs) / 1e6;
  let tUs = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    // The profiler's ticks come every 100 µs while the process runs; a gap of a millisecond or
    // more means the process was not on a CPU (the machine's scheduler), filled in as such.
    for (let gapUs = GAP_US; gapUs < delta; gapUs += FILL_US)
      out.push({ atMs: at(tUs + gapUs), entry: NOT_RUNNING, leaf: NOT_RUNNING });
    tUs += delta;
    const node = byId.get(id);
    if (!node) return;
    out.push({
      atMs: at(tUs),
      entry: entryOf(id),
      leaf: frameName(node),
    });
  });
  return out;
}

// ------------------------------------------------------------------ sampling heap profiles

interface HeapProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly HeapProfileNode[];
}

/** What the process allocated, by allocating frame (with its caller), in bytes per message. */
export function allocationSites(
  profile: { readonly head: HeapProfileNode },
  messages: number,
  top = 12,
): { totalBytesPerMessage: number; sites: Record<string, number> } {
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapProfileNode, caller: string): void => {
    const name = frameName({ id: 0, callFrame: { ...node.callFrame, lineNumber: 0 } });
    if (node.selfSize > 0) {
      const site = `${name} ← ${caller}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) walk(child, name);
  };
  walk(profile.head, '');
  const sites: Record<string, number> = {};
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top))
    sites[site] = Math.round(bytes / messages);
  return { totalBytesPerMessage: Math.round(total / messages), sites };
}
