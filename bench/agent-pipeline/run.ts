// SPDX-License-Identifier: Apache-2.0
// Pipeline benchmark: sensor → Mosquitto → (agent + wasm | plain mqtt.js | Node-RED) → Mosquitto → sink.
// The Node-RED peer (node-red.ts) runs mqtt in → function → mqtt out; every contender turns
// Nagle off. Besides msg/s and loss, each throughput case reports the CPU time the process under
// test spent per delivered message (from /proc), which the shared sensor/sink/broker do not cap.
// Short and bounded (2-core machines are shared): at most 20,000 messages per case, and the whole
// run gives up after 10 minutes. Prints one JSON object with ratios.
//   node bench/agent-pipeline/run.ts [--messages 20000] [--only throughput|latency|memory]
//                                    [--contenders agent,baseline,node-red,agent-worker]   (throughput cases)
// The agent runs core modules on its own thread when it can stop them at their deadline (ADR
// 0018); contender agent-worker is the same agent with --isolation worker (a worker per function).
// WASMFLEET_ISOLATION=worker in the environment measures every agent case that way.
//                                    [--agent-bin agent/bin/wasmfleet-agent.ts]   (compare entries)
//                                    [--contenders …,agent-before --before-agent-bin DIR/agent/bundle/wasmfleet-agent.js]
// Contender agent-before is another build of the Node agent (a copy of an earlier agent/dist/<id>/,
// or this build's own bundle to A/B --agent-node-flags, which it does not get) measured in every
// case and series beside this one: an A/B of a change within one run.
//                                    [--tail [--tail-cpu-prof] [--tail-heap-prof]]   (latency: where the tail comes from)
//                                    [--agent-node-flags '--max-semi-space-size=8']   (A/B of V8 settings)
//                                    [--latency-steady 3000]   (steady messages per latency series)
//                                    [--cases qos0-16B,qos1-1024B]   (only these throughput cases)
//                                    [--warm-up 20000]   (messages through each process before it is measured)
// --warm-up measures each contender's steady state: the first messages after a start also pay
// for V8 compiling the hot path (the agent has more of it than the forwarder), which the default
// (cold) figures include.
// The latency case measures the floor first (sensor → Mosquitto → sink, nothing between; the
// harness is latency-harness.ts), then each contender from its start, cold and steady side by side.
// It also reports each contender's CPU per message in the steady phase at that paced rate (all
// threads): readings one at a time, as a device gets them, beside the throughput cases' flood.
// --tail preloads tail-probe.ts into the Node agent and the forwarder there (their garbage
// collections), --tail-cpu-prof adds a --cpu-prof profile at 100 µs, --tail-heap-prof a sampling
// profile of everything they allocate; tail-analysis.ts reports, cold and steady, what the slow
// messages met: a GC of the process or of the harness, or what the process's main thread did.
// Contender native is the native agent (agent-native/, Rust on Wasmtime; docs/adr/0021), built or
// found by test-support's ensureNativeAgent; its latency, idle RSS and per-function RSS are
// measured beside the Node agent's and the plain forwarder's in the same run.
//                                    [--contenders …,native,native-before --before-native-bin BIN]
// Contender native-before is another build of the native agent (a binary kept from an earlier
// build), measured in every throughput case and in the latency case right after this one: an A/B
// of a native change.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { stripTypeScriptTypes } from 'node:module';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import wabtInit from 'wabt';
import {
  desiredTopic,
  encodeModuleEnvelope,
  logFilter,
  moduleTopic,
  statusTopic,
  type DesiredState,
} from '@wasmfleet/api';
import { loadFunction } from '@wasmfleet/agent';
import { ensureNativeAgent, startMosquitto } from '@wasmfleet/test-support';
import { createHash } from 'node:crypto';
import { LatencyHarness, type LatencyRun } from './latency-harness.ts';
import {
  allocationSites,
  profileSamples,
  tailReport,
  type CpuProfile,
  type GcEntry,
  type Sample,
} from './tail-analysis.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const MESSAGES = Math.min(20_000, Number(arg('--messages') ?? 20_000));
const WARM_UP = Math.min(20_000, Number(arg('--warm-up') ?? 0));
const ONLY = arg('--only');
const CONTENDERS = new Set((arg('--contenders') ?? 'agent,native,baseline,node-red').split(','));
/** Throughput cases to run (keys as in the output, e.g. qos0-16B); all four when not given. */
const CASES = arg('--cases')?.split(',');
const TAIL = process.argv.includes('--tail');
const TAIL_CPU_PROF = process.argv.includes('--tail-cpu-prof');
const TAIL_HEAP_PROF = process.argv.includes('--tail-heap-prof');
/** More `node` flags for the Node agent (A/B runs of V8 settings), e.g. '--max-semi-space-size=8'. */
const AGENT_NODE_FLAGS = (arg('--agent-node-flags') ?? '').split(' ').filter(Boolean);
const RUN_DEADLINE_MS = 10 * 60_000;
// The run must end by itself even if a process under test hangs.
setTimeout(() => {
  process.stderr.write(`the benchmark did not finish within ${RUN_DEADLINE_MS / 60_000} min\n`);
  process.exit(1);
}, RUN_DEADLINE_MS).unref();
const children = new Set<ChildProcess>();
/** Data directories of the agents and Node-RED instances started here; removed on exit. */
const scratch = new Set<string>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
const here = path.dirname(new URL(import.meta.url).pathname);
const agentBin = path.resolve(arg('--agent-bin') ?? path.join(here, '../../agent/bin/wasmfleet-agent.js'));
const beforeAgentBin = arg('--before-agent-bin');
if (CONTENDERS.has('agent-before') && !beforeAgentBin) {
  process.stderr.write('contender agent-before needs --before-agent-bin <an earlier build of the agent>\n');
  process.exit(2);
}
const beforeNativeBin = arg('--before-native-bin');
if (CONTENDERS.has('native-before') && !beforeNativeBin) {
  process.stderr.write(
    'contender native-before needs --before-native-bin <an earlier build of the native agent>\n',
  );
  process.exit(2);
}
const nativeBin = CONTENDERS.has('native')
  ? (await ensureNativeAgent({ progress: (line) => process.stderr.write(`native agent: ${line}\n`) })).path
  : undefined;

const wabt = await wabtInit();
const echo = wabt
  .parseWat('echo.wat', await readFile(path.join(here, 'echo.wat'), 'utf8'))
  .toBinary({})
  .buffer.slice();
const digest = createHash('sha256').update(echo).digest('hex');

const broker = await startMosquitto();
const control = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
await control.publishAsync(
  moduleTopic(digest),
  Buffer.from(
    encodeModuleEnvelope({ sha256: digest, size: echo.length, mediaType: 'application/wasm' }, echo),
  ),
  { qos: 1, retain: true },
);

/**
 * Nodes whose echo function moved to a worker thread (its log says so on MQTT): a function moved
 * by a slow call pays a thread hop per batch, so its CPU per message is not the inline path's.
 */
const movedToWorker = new Set<string>();
control.on('message', (topic, payload) => {
  if (/own worker/.test(payload.toString())) movedToWorker.add(topic.split('/').at(-1) ?? topic);
});
await control.subscribeAsync(logFilter('bench', 'echo'), { qos: 0 });

function desired(node: string, qos: 0 | 1, functions = 1, generation = 1): DesiredState {
  return {
    version: 1,
    node,
    generation,
    functions: Array.from({ length: functions }, (_, i) => ({
      namespace: 'bench',
      name: i === 0 ? 'echo' : `extra-${i}`,
      revision: `r${generation}`,
      module: { sha256: digest, size: echo.length },
      inputs: [
        { topic: i === 0 ? 'sensors/{node}/in' : `sensors/{node}/extra-${i}`, qos, format: 'raw' as const },
      ],
      outputs: [{ topic: i === 0 ? 'out/{node}/in' : `out/{node}/extra-${i}`, qos, retain: false }],
      config: {},
      limits: { memoryBytes: 1 << 20, timeoutMs: 100 },
    })),
  };
}

async function waitRunning(node: string, functions: number): Promise<void> {
  const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  await new Promise<void>((resolve) => {
    c.on('message', (_t, p) => {
      const s = JSON.parse(p.toString()) as { functions?: { phase: string }[] };
      if (s.functions?.length === functions && s.functions.every((f) => f.phase === 'Running')) resolve();
    });
    void c.subscribeAsync(statusTopic(node), { qos: 1 });
  });
  await c.endAsync();
}

/** Extra `node` flags and environment for a Node process under test (the --tail probe). */
interface Launch {
  readonly nodeFlags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Where the probe writes, and the profile lands; undefined without --tail. */
  readonly dir?: string;
}
const NO_PROBE: Launch = { nodeFlags: [], env: {} };

/** tail-probe.ts as JavaScript in a scratch file (no type stripping in the process under test). */
const probeFile = TAIL
  ? path.join(await mkdtemp(path.join(tmpdir(), 'wf-bench-tail-')), 'probe.mjs')
  : undefined;
if (probeFile) {
  scratch.add(path.dirname(probeFile));
  await writeFile(probeFile, stripTypeScriptTypes(await readFile(path.join(here, 'tail-probe.ts'), 'utf8')));
}

/** With --tail, the probe (and with --tail-cpu-prof the profiler) for one process; else nothing. */
async function probed(): Promise<Launch> {
  if (!probeFile) return NO_PROBE;
  // WASMFLEET_BENCH_TAIL_KEEP=DIR keeps each probed process's probe.json, profiles and heap
  // profile in a directory of its own under DIR (for a closer look than the report's summary).
  const keep = process.env.WASMFLEET_BENCH_TAIL_KEEP;
  const dir = await mkdtemp(path.join(keep ?? tmpdir(), 'wf-bench-tail-'));
  if (!keep) scratch.add(dir);
  const prof = TAIL_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'] : [];
  return {
    nodeFlags: ['--import', pathToFileURL(probeFile).href, ...prof],
    env: {
      WASMFLEET_TAIL_PROBE_OUT: path.join(dir, 'probe.json'),
      ...(TAIL_HEAP_PROF ? { WASMFLEET_TAIL_HEAP_PROF: path.join(dir, 'heap.json') } : {}),
    },
    dir,
  };
}

/** What the probe (and profiler) recorded, laid over the sink's samples; after the process exited. */
async function tailOf(
  launch: Launch,
  { samples, harnessGc }: { readonly samples: readonly Sample[]; readonly harnessGc: readonly GcEntry[] },
): Promise<
  | (ReturnType<typeof tailReport> & {
      heapSpacesMbAtExit: Record<string, number>;
      eventLoopDelayMs: { p50: number; p99: number; max: number };
      allocated?: ReturnType<typeof allocationSites>;
    })
  | undefined
> {
  if (!launch.dir) return undefined;
  const probe = JSON.parse(await readFile(path.join(launch.dir, 'probe.json'), 'utf8')) as {
    clock: { epochMs: number; monotonicNs: number };
    gc: GcEntry[];
    spaces: Record<string, number>;
    loopDelayMs: { p50: number; p99: number; max: number };
  };
  // One profile per thread; the main thread's is the one with the most samples.
  const profiles: CpuProfile[] = [];
  for (const f of (await readdir(launch.dir)).filter((n) => n.endsWith('.cpuprofile')))
    profiles.push(JSON.parse(await readFile(path.join(launch.dir, f), 'utf8')) as CpuProfile);
  const main = profiles.sort((a, b) => b.samples.length - a.samples.length)[0];
  const report = {
    ...tailReport(samples, LATENCY_WARM_UP, probe.gc, harnessGc, main && profileSamples(main, probe.clock)),
    heapSpacesMbAtExit: probe.spaces,
    eventLoopDelayMs: probe.loopDelayMs,
  };
  if (!TAIL_HEAP_PROF) return report;
  // Everything the process allocated from start to exit, over the messages it forwarded.
  const heap = JSON.parse(await readFile(path.join(launch.dir, 'heap.json'), 'utf8')) as Parameters<
    typeof allocationSites
  >[0];
  return { ...report, allocated: allocationSites(heap, samples.length) };
}

async function startAgent(
  node: string,
  qos: 0 | 1,
  functions = 1,
  extraArgs: readonly string[] = [],
  native = false,
  launch: Launch = NO_PROBE,
  bin = agentBin,
): Promise<{ child: ChildProcess; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wf-bench-'));
  scratch.add(dir);
  await control.publishAsync(desiredTopic(node), JSON.stringify(desired(node, qos, functions)), {
    qos: 1,
    retain: true,
  });
  // WASMFLEET_BENCH_AGENT_LOGS=DIR keeps each agent's stdout and stderr (V8's --trace-* output
  // from --agent-node-flags included) as DIR/<node>.log.
  const logDir = process.env.WASMFLEET_BENCH_AGENT_LOGS;
  const log = logDir ? openSync(path.join(logDir, `${node}.log`), 'w') : 'ignore';
  const args = ['--broker', broker.url, '--node', node, '--data-dir', dir, '--heartbeat', '5', ...extraArgs];
  // A native agent other than this build's (native-before) comes in as `bin`.
  const nativeProgram = bin === agentBin ? nativeBin : bin;
  const child = spawn(
    native && nativeProgram ? nativeProgram : process.execPath,
    // --agent-node-flags go to the agent under test only: agent-before is the control of an A/B.
    native ? args : [...(bin === agentBin ? AGENT_NODE_FLAGS : []), ...launch.nodeFlags, bin, ...args],
    {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...launch.env },
    },
  );
  children.add(child);
  await waitRunning(node, functions);
  return { child, dir };
}

/**
 * baseline.ts as JavaScript (types stripped here), as the agent runs from compiled JavaScript:
 * run as .ts, Node's type stripping would add ~17 MB to the baseline's RSS (docs/adr/0017).
 */
const baselineJs = stripTypeScriptTypes(await readFile(path.join(here, 'baseline.ts'), 'utf8'));

async function startBaseline(
  node: string,
  qos: 0 | 1,
  launch: Launch = NO_PROBE,
): Promise<{ child: ChildProcess }> {
  // Evaluated with the bench's directory as the base, so `import 'mqtt'` resolves as from the file;
  // the name after the code stands in for the script in process.argv.
  const child = spawn(
    process.execPath,
    [
      ...launch.nodeFlags,
      '--input-type=module',
      '--eval',
      baselineJs,
      'baseline.ts',
      broker.url,
      `sensors/${node}/in`,
      `out/${node}/in`,
      String(qos),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: here, env: { ...process.env, ...launch.env } },
  );
  children.add(child);
  await once(child.stdout, 'data');
  return { child };
}

/** Node-RED embedded in a child (node-red.ts): mqtt in → function → mqtt out, ready after a probe. */
async function startNodeRed(node: string, qos: 0 | 1): Promise<{ child: ChildProcess; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wf-bench-node-red-'));
  scratch.add(dir);
  const child = spawn(
    process.execPath,
    [path.join(here, 'node-red.ts'), dir, broker.url, `sensors/${node}/in`, `out/${node}/in`, String(qos)],
    // stdin stays open: node-red.ts stops by itself when it closes (this process went away).
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.add(child);
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
      else process.stderr.write(`node-red: ${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`node-red.ts exited with ${code} before it was ready`)));
  });
  try {
    await ready;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { child, dir };
}

/** SIGTERM, and SIGKILL after 10 s: a process that ignores SIGTERM is reported, never waited on. */
async function stop(child: ChildProcess): Promise<number> {
  const t0 = performance.now();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      process.stderr.write(`pid ${child.pid} ignored SIGTERM for 10 s; killing it\n`);
      child.kill('SIGKILL');
    }, 10_000);
    await once(child, 'exit');
    clearTimeout(timer);
  }
  children.delete(child);
  return Math.round(performance.now() - t0);
}

function noDelay(client: mqtt.MqttClient): void {
  (client.stream as Partial<{ setNoDelay(on: boolean): void }>).setNoDelay?.(true);
}

/** Sustained throughput: QoS 0 fire-and-forget, QoS 1 with a window of 64 unacknowledged. */
async function throughput(
  node: string,
  qos: 0 | 1,
  size: number,
  messages = MESSAGES,
): Promise<{ msgPerSec: number; lossPct: number }> {
  const sink = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const sensor = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  noDelay(sink);
  noDelay(sensor);
  let received = 0;
  let lastAt = 0;
  sink.on('message', () => {
    received++;
    lastAt = performance.now();
  });
  await sink.subscribeAsync(`out/${node}/in`, { qos });
  const payload = Buffer.alloc(size, 0x61);
  const t0 = performance.now();
  const window = 64;
  let inFlight = 0;
  for (let i = 0; i < messages; i++) {
    if (qos === 1) {
      while (inFlight >= window) await new Promise((r) => setImmediate(r));
      inFlight++;
      sensor.publish(`sensors/${node}/in`, payload, { qos }, () => inFlight--);
    } else {
      sensor.publish(`sensors/${node}/in`, payload, { qos });
      if (i % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  const deadline = Date.now() + 20_000;
  while (
    received < messages &&
    Date.now() < deadline &&
    (received === 0 || performance.now() - lastAt < 2000)
  )
    await new Promise((r) => setTimeout(r, 20));
  const seconds = ((lastAt || performance.now()) - t0) / 1000;
  await Promise.all([sink.endAsync(), sensor.endAsync()]);
  return {
    msgPerSec: Math.round(received / seconds),
    lossPct: +((100 * (messages - received)) / messages).toFixed(3),
  };
}

/** Messages of each latency series: the process's cold phase, then its steady phase. */
const LATENCY_WARM_UP = 2000;
/** `--latency-steady 10000` measures more steady messages: a p99 over 3,000 is their 30th worst. */
const LATENCY_MEASURED = Number(arg('--latency-steady') ?? 3000);
let harness: LatencyHarness | undefined;
/** The sensor and sink, started with the first latency series and shared by all of them. */
async function latencyHarness(): Promise<LatencyHarness> {
  harness ??= await LatencyHarness.start(broker.url, { cold: LATENCY_WARM_UP, steady: LATENCY_MEASURED });
  return harness;
}
/** A contender's series, with its CPU by thread, cold and steady. */
async function latency(node: string, pid?: number): Promise<LatencyRun> {
  return (await latencyHarness()).series(`sensors/${node}/in`, `out/${node}/in`, pid);
}

/**
 * CPU µs per message at 1k msg/s, all threads, in a series' steady phase: what a device whose
 * readings arrive one at a time pays, beside the throughput cases' figure, where a flood lets a
 * slower process take more messages per read.
 */
function cpuUsPerMsgAt1k(run: LatencyRun): number | undefined {
  if (run.threads === undefined || run.received === 0) return undefined;
  const ms = Object.values(run.threads).reduce((sum, t) => sum + t.steadyMs, 0);
  return +((ms * 1000) / run.received).toFixed(1);
}

/** CPU time (user + system, all threads) a process has used so far, in µs. */
async function cpuUs(pid: number): Promise<number> {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th, in clock
  // ticks (USER_HZ, 100 on Linux), so the resolution is 10 ms: ±0.5 µs/msg over 20,000 messages.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * Read and write system calls (read/readv/recv…, write/writev/send…) a process has made so far,
 * from /proc/<pid>/io: the kernel's share of CPU per message follows how many a message takes.
 */
async function syscalls(pid: number): Promise<{ reads: number; writes: number }> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const count = (field: string) => Number(new RegExp(`${field}: (\\d+)`).exec(io)?.[1] ?? NaN);
  return { reads: count('syscr'), writes: count('syscw') };
}

/** Throughput, plus the CPU (and read/write system calls) the process spent per message it delivered. */
async function measured(
  child: ChildProcess,
  node: string,
  qos: 0 | 1,
  size: number,
): Promise<{
  msgPerSec: number;
  lossPct: number;
  cpuUsPerMsg: number;
  readsPerMsg: number;
  writesPerMsg: number;
  movedToWorker?: true;
}> {
  if (WARM_UP > 0) await throughput(node, qos, size, WARM_UP);
  const before = await cpuUs(child.pid!);
  const callsBefore = await syscalls(child.pid!);
  const result = await throughput(node, qos, size);
  const received = MESSAGES * (1 - result.lossPct / 100);
  const calls = await syscalls(child.pid!);
  return {
    ...result,
    cpuUsPerMsg: +(((await cpuUs(child.pid!)) - before) / received).toFixed(1),
    readsPerMsg: +((calls.reads - callsBefore.reads) / received).toFixed(2),
    writesPerMsg: +((calls.writes - callsBefore.writes) / received).toFixed(2),
    ...(movedToWorker.has(node) ? { movedToWorker: true as const } : {}),
  };
}

async function rssKb(pid: number): Promise<number> {
  return (await rssParts(pid)).rss;
}

/** VmRSS and its two halves: pages of files (mostly the `node` binary) and anonymous memory. */
async function rssParts(pid: number): Promise<{ rss: number; file: number; anon: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), file: kb('RssFile'), anon: kb('RssAnon') };
}

const results: Record<string, unknown> = {
  cpu: `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`,
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
  messagesPerCase: MESSAGES,
  warmUpPerCase: WARM_UP,
  isolation: process.env.WASMFLEET_ISOLATION ?? 'auto',
};
for (const qos of ONLY === undefined || ONLY === 'throughput' ? ([0, 1] as const) : []) {
  for (const size of [16, 1024]) {
    const key = `qos${qos}-${size}B`;
    if (CASES && !CASES.includes(key)) continue;
    process.stderr.write(`${key}\n`);
    let agentBefore: Awaited<ReturnType<typeof measured>> | undefined;
    if (beforeAgentBin && CONTENDERS.has('agent-before')) {
      const e = await startAgent(`bench-e-${qos}-${size}`, qos, 1, [], false, NO_PROBE, beforeAgentBin);
      agentBefore = await measured(e.child, `bench-e-${qos}-${size}`, qos, size);
      await stop(e.child);
      await rm(e.dir, { recursive: true, force: true });
    }
    const a = await startAgent(`bench-a-${qos}-${size}`, qos);
    const agent = await measured(a.child, `bench-a-${qos}-${size}`, qos, size);
    const sigtermMs = await stop(a.child);
    await rm(a.dir, { recursive: true, force: true });
    let agentWorker: Awaited<ReturnType<typeof measured>> | undefined;
    if (CONTENDERS.has('agent-worker')) {
      const w = await startAgent(`bench-w-${qos}-${size}`, qos, 1, ['--isolation', 'worker']);
      agentWorker = await measured(w.child, `bench-w-${qos}-${size}`, qos, size);
      await stop(w.child);
      await rm(w.dir, { recursive: true, force: true });
    }
    let native: Awaited<ReturnType<typeof measured>> | undefined;
    if (CONTENDERS.has('native')) {
      const n = await startAgent(`bench-r-${qos}-${size}`, qos, 1, [], true);
      native = await measured(n.child, `bench-r-${qos}-${size}`, qos, size);
      await stop(n.child);
      await rm(n.dir, { recursive: true, force: true });
    }
    let nativeBefore: Awaited<ReturnType<typeof measured>> | undefined;
    if (beforeNativeBin && CONTENDERS.has('native-before')) {
      const n = await startAgent(`bench-q-${qos}-${size}`, qos, 1, [], true, NO_PROBE, beforeNativeBin);
      nativeBefore = await measured(n.child, `bench-q-${qos}-${size}`, qos, size);
      await stop(n.child);
      await rm(n.dir, { recursive: true, force: true });
    }
    let baseline: Awaited<ReturnType<typeof measured>> | undefined;
    if (CONTENDERS.has('baseline')) {
      const b = await startBaseline(`bench-b-${qos}-${size}`, qos);
      baseline = await measured(b.child, `bench-b-${qos}-${size}`, qos, size);
      await stop(b.child);
    }
    let nodeRed: Awaited<ReturnType<typeof measured>> | undefined;
    let nodeRedSigtermMs: number | undefined;
    if (CONTENDERS.has('node-red')) {
      const n = await startNodeRed(`bench-n-${qos}-${size}`, qos);
      nodeRed = await measured(n.child, `bench-n-${qos}-${size}`, qos, size);
      nodeRedSigtermMs = await stop(n.child);
      await rm(n.dir, { recursive: true, force: true });
    }
    results[key] = {
      agent,
      agentBefore,
      agentWorker,
      native,
      nativeBefore,
      baseline,
      nodeRed,
      ratioVsBaseline: baseline && +(agent.msgPerSec / baseline.msgPerSec).toFixed(2),
      ratioVsNodeRed: nodeRed && +(agent.msgPerSec / nodeRed.msgPerSec).toFixed(2),
      ratioVsAgentWorker: agentWorker && +(agent.msgPerSec / agentWorker.msgPerSec).toFixed(2),
      // CPU per message, the other side's over the agent's: > 1 means the agent is cheaper.
      cpuRatioVsBaseline: baseline && +(baseline.cpuUsPerMsg / agent.cpuUsPerMsg).toFixed(2),
      cpuRatioVsNodeRed: nodeRed && +(nodeRed.cpuUsPerMsg / agent.cpuUsPerMsg).toFixed(2),
      // Issue 15's targets, the agent's over the peer's: ≤ 1.1 the forwarder's, ≤ 0.5 Node-RED's.
      agentCpuVsBaseline: baseline && +(agent.cpuUsPerMsg / baseline.cpuUsPerMsg).toFixed(2),
      agentCpuVsNodeRed: nodeRed && +(agent.cpuUsPerMsg / nodeRed.cpuUsPerMsg).toFixed(2),
      // The A/B: this build's CPU per message over the earlier build's, and the earlier one's targets.
      agentCpuVsAgentBefore: agentBefore && +(agent.cpuUsPerMsg / agentBefore.cpuUsPerMsg).toFixed(2),
      agentBeforeCpuVsBaseline:
        agentBefore && baseline && +(agentBefore.cpuUsPerMsg / baseline.cpuUsPerMsg).toFixed(2),
      agentBeforeCpuVsNodeRed:
        agentBefore && nodeRed && +(agentBefore.cpuUsPerMsg / nodeRed.cpuUsPerMsg).toFixed(2),
      // The native agent's CPU per message over the Node agent's (target ≤ 0.5) and the forwarder's.
      nativeCpuVsAgent: native && +(native.cpuUsPerMsg / agent.cpuUsPerMsg).toFixed(2),
      nativeCpuVsBaseline: native && baseline && +(native.cpuUsPerMsg / baseline.cpuUsPerMsg).toFixed(2),
      // The native A/B: this build's CPU per message over the earlier native build's.
      nativeCpuVsNativeBefore:
        native && nativeBefore && +(native.cpuUsPerMsg / nativeBefore.cpuUsPerMsg).toFixed(2),
      nativeBeforeCpuVsAgent: nativeBefore && +(nativeBefore.cpuUsPerMsg / agent.cpuUsPerMsg).toFixed(2),
      nativeMsgPerSecVsBaseline: native && baseline && +(native.msgPerSec / baseline.msgPerSec).toFixed(2),
      agentSigtermMs: sigtermMs,
      nodeRedSigtermMs,
    };
  }
}
if (ONLY === undefined || ONLY === 'latency') {
  // First the floor: sensor → Mosquitto → sink with nothing between (it also warms the harness).
  const floor = await (await latencyHarness()).series('bench/floor', 'bench/floor');
  let agentBefore: LatencyRun | undefined;
  if (beforeAgentBin && CONTENDERS.has('agent-before')) {
    const e = await startAgent('lat-e', 0, 1, [], false, NO_PROBE, beforeAgentBin);
    agentBefore = await latency('lat-e', e.child.pid);
    await stop(e.child);
  }
  const aLaunch = await probed();
  const a = await startAgent('lat-a', 0, 1, [], false, aLaunch);
  const agent = await latency('lat-a', a.child.pid);
  const idleRssMb = +((await rssKb(a.child.pid!)) / 1024).toFixed(1);
  await stop(a.child);
  let native: LatencyRun | undefined;
  let nativeIdleRssMb: number | undefined;
  if (CONTENDERS.has('native')) {
    const n = await startAgent('lat-r', 0, 1, [], true);
    native = await latency('lat-r', n.child.pid);
    nativeIdleRssMb = +((await rssKb(n.child.pid!)) / 1024).toFixed(1);
    await stop(n.child);
  }
  let nativeBefore: LatencyRun | undefined;
  if (beforeNativeBin && CONTENDERS.has('native-before')) {
    const n = await startAgent('lat-q', 0, 1, [], true, NO_PROBE, beforeNativeBin);
    nativeBefore = await latency('lat-q', n.child.pid);
    await stop(n.child);
  }
  const bLaunch = await probed();
  const b = await startBaseline('lat-b', 0, bLaunch);
  const baseline = await latency('lat-b', b.child.pid);
  await stop(b.child);
  const figures = ({ samples: _, harnessGc: __, ...rest }: LatencyRun) => rest;
  const ratio = (x: number, y: number): number => +(x / y).toFixed(2);
  const ratioOf = (x: number | undefined, y: number | undefined): number | undefined =>
    x === undefined || y === undefined ? undefined : ratio(x, y);
  harness?.close();
  // Each contender's CPU per message at the paced rate, worked out once for the results and the summary line.
  const cpuAt1k = {
    agent: cpuUsPerMsgAt1k(agent),
    native: native && cpuUsPerMsgAt1k(native),
    nativeBefore: nativeBefore && cpuUsPerMsgAt1k(nativeBefore),
    agentBefore: agentBefore && cpuUsPerMsgAt1k(agentBefore),
    baseline: cpuUsPerMsgAt1k(baseline),
  };
  results.latencyAt1k = {
    floor: figures(floor),
    agent: figures(agent),
    native: native && figures(native),
    nativeBefore: nativeBefore && figures(nativeBefore),
    agentBefore: agentBefore && figures(agentBefore),
    baseline: figures(baseline),
    // ≤ 1.0 is the native agent's target: its p99 at most the plain forwarder's.
    nativeP99VsBaseline: native && ratio(native.p99Us, baseline.p99Us),
    nativeP99ColdVsBaseline: native && ratio(native.p99ColdUs, baseline.p99ColdUs),
    // Issue 15's target for the Node agent: p99 ≤ 1.2× the forwarder's, steady (after the first
    // LATENCY_WARM_UP messages) and cold (those first messages alone), side by side.
    agentP99VsBaseline: ratio(agent.p99Us, baseline.p99Us),
    agentP99ColdVsBaseline: ratio(agent.p99ColdUs, baseline.p99ColdUs),
    agentP99WithWarmUpVsBaseline: ratio(agent.p99UsWithWarmUp, baseline.p99UsWithWarmUp),
    agentBeforeP99VsBaseline: agentBefore && ratio(agentBefore.p99Us, baseline.p99Us),
    agentBeforeP99ColdVsBaseline: agentBefore && ratio(agentBefore.p99ColdUs, baseline.p99ColdUs),
    cpuUsPerMsg: cpuAt1k,
    agentCpuVsBaseline: ratioOf(cpuAt1k.agent, cpuAt1k.baseline),
    nativeCpuVsAgent: native && ratioOf(cpuAt1k.native, cpuAt1k.agent),
    nativeBeforeCpuVsAgent: nativeBefore && ratioOf(cpuAt1k.nativeBefore, cpuAt1k.agent),
    tail: TAIL
      ? { agent: await tailOf(aLaunch, agent), baseline: await tailOf(bLaunch, baseline) }
      : undefined,
  };
  process.stderr.write(
    `p99 at 1k msg/s, cold (first ${LATENCY_WARM_UP}) / steady, µs: agent ${agent.p99ColdUs} / ${agent.p99Us}` +
      (agentBefore ? `, agent before ${agentBefore.p99ColdUs} / ${agentBefore.p99Us}` : '') +
      (native ? `, native ${native.p99ColdUs} / ${native.p99Us}` : '') +
      (nativeBefore ? `, native before ${nativeBefore.p99ColdUs} / ${nativeBefore.p99Us}` : '') +
      `, forwarder ${baseline.p99ColdUs} / ${baseline.p99Us}, floor (no process between) ${floor.p99ColdUs} / ${floor.p99Us}\n`,
  );
  process.stderr.write(
    `CPU µs per message at 1k msg/s, steady: agent ${cpuAt1k.agent}` +
      (native ? `, native ${cpuAt1k.native}` : '') +
      (nativeBefore ? `, native before ${cpuAt1k.nativeBefore}` : '') +
      `, forwarder ${cpuAt1k.baseline}\n`,
  );
  results.nativeRssAfterLatencyRunMb = nativeIdleRssMb;
  results.agentRssAfterLatencyRunMb = idleRssMb;
}
if (ONLY === undefined || ONLY === 'memory') {
  // Idle RSS with one function, then per extra function (10 more).
  const one = await startAgent('rss-1', 0, 1);
  await new Promise((r) => setTimeout(r, 1000));
  const parts1 = await rssParts(one.child.pid!);
  const rss1 = parts1.rss;
  await stop(one.child);
  const eleven = await startAgent('rss-11', 0, 11);
  await new Promise((r) => setTimeout(r, 1000));
  const parts11 = await rssParts(eleven.child.pid!);
  const rss11 = parts11.rss;
  await stop(eleven.child);
  // The peer: the plain mqtt.js baseline, connected and subscribed, as idle.
  const peer = await startBaseline('rss-b', 1);
  await new Promise((r) => setTimeout(r, 1000));
  const peerParts = await rssParts(peer.child.pid!);
  await stop(peer.child);
  results.idleRssMbOneFunction = +(rss1 / 1024).toFixed(1);
  results.idleRssMbPlainMqttJs = +(peerParts.rss / 1024).toFixed(1);
  results.idleRssMbPlainMqttJsFileAnon = [
    +(peerParts.file / 1024).toFixed(1),
    +(peerParts.anon / 1024).toFixed(1),
  ];
  results.idleRssMbOneFunctionFileAnon = [+(parts1.file / 1024).toFixed(1), +(parts1.anon / 1024).toFixed(1)];
  results.rssPerExtraFunctionMb = +((rss11 - rss1) / 10 / 1024).toFixed(2);
  // Anonymous memory only: pages of the node binary differ by up to ~5 MB between two agents
  // doing the same (docs/adr/0019), ±0.5 MB per function in the figure above.
  results.anonRssPerExtraFunctionMb = +((parts11.anon - parts1.anon) / 10 / 1024).toFixed(2);
  if (CONTENDERS.has('native')) {
    // The native agent's footprint: idle with one function (target ≤ 15 MB), per extra small
    // function (target ≤ 0.5 MB), and its binary.
    const n1 = await startAgent('rss-r1', 0, 1, [], true);
    await new Promise((r) => setTimeout(r, 1000));
    const nParts1 = await rssParts(n1.child.pid!);
    await stop(n1.child);
    const n11 = await startAgent('rss-r11', 0, 11, [], true);
    await new Promise((r) => setTimeout(r, 1000));
    const nParts11 = await rssParts(n11.child.pid!);
    await stop(n11.child);
    results.native = {
      idleRssMbOneFunction: +(nParts1.rss / 1024).toFixed(1),
      idleRssMbOneFunctionFileAnon: [+(nParts1.file / 1024).toFixed(1), +(nParts1.anon / 1024).toFixed(1)],
      rssPerExtraFunctionMb: +((nParts11.rss - nParts1.rss) / 10 / 1024).toFixed(2),
      binaryMb: nativeBin ? +((await stat(nativeBin)).size / 1024 / 1024).toFixed(1) : undefined,
      idleRssVsNodeAgent: +(nParts1.rss / rss1).toFixed(2),
    };
  }
}
if (ONLY === undefined || ONLY === 'memory') {
  // Desired document → first output, module cached (a running agent gets a new function).
  const a = await startAgent('ttfo', 0, 1);
  const sink = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  await sink.subscribeAsync('out/ttfo/extra-1', { qos: 0 });
  const sensor = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const t0 = performance.now();
  const first = new Promise<number>((resolve) => sink.once('message', () => resolve(performance.now() - t0)));
  await control.publishAsync(desiredTopic('ttfo'), JSON.stringify(desired('ttfo', 0, 2, 2)), {
    qos: 1,
    retain: true,
  });
  const timer = setInterval(() => sensor.publish('sensors/ttfo/extra-1', 'x', { qos: 0 }), 2);
  results.desiredToFirstOutputMs = +(await first).toFixed(1);
  clearInterval(timer);
  await Promise.all([sink.endAsync(), sensor.endAsync()]);
  await stop(a.child);
  await rm(a.dir, { recursive: true, force: true });
}
if (ONLY === undefined || ONLY === 'memory') {
  // Instantiating a cached (already compiled) module where the function runs.
  const isolation = process.env.WASMFLEET_ISOLATION === 'worker' ? ('worker' as const) : ('auto' as const);
  const opts = { outputs: ['o'], config: {}, limits: { memoryBytes: 1 << 20, timeoutMs: 100 }, isolation };
  const first = await loadFunction(echo, opts);
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const fn = await loadFunction(echo, opts);
    samples.push((fn as unknown as { startStats: { instantiateUs: number } }).startStats.instantiateUs);
    await fn.close();
  }
  await first.close();
  samples.sort((x, y) => x - y);
  results.instantiateCachedModuleP50Us = Math.round(samples[10]!);
}
console.log(JSON.stringify(results, null, 2));
await control.endAsync();
await broker.dispose();
