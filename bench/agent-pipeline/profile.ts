// SPDX-License-Identifier: Apache-2.0
// Profiles the agent on one throughput case: the agent runs under `node --cpu-prof` (main thread
// and function worker each write a .cpuprofile into --out), fed N messages by one sensor while a
// sink drains the outputs. Open the profiles in Chrome DevTools or summarise them by self time.
//   node bench/agent-pipeline/profile.ts [--qos 0] [--size 1024] [--messages 60000] [--out dir]
//                                        [--node-flags '--trace-gc …']   (more flags for the agent)
// --native BIN profiles the native agent (agent-native/) instead: run under --wrap (a profiler's
// command line, e.g. 'perf record -g -o out/perf.data --'), or alone. For either agent it prints
// the CPU time and the read/write system calls the process spent per message (from /proc).
//                                        [--native BIN [--wrap 'perf record -F 2000 -g --']]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { stripTypeScriptTypes } from 'node:module';
import mqtt from 'mqtt';
import wabtInit from 'wabt';
import { desiredTopic, encodeModuleEnvelope, moduleTopic, statusTopic } from '@wasmfleet/api';
import { startMosquitto } from '@wasmfleet/test-support';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const qos = Number(arg('--qos', '0')) === 1 ? 1 : 0;
const size = Number(arg('--size', '1024'));
const messages = Number(arg('--messages', '60000'));
const out = path.resolve(arg('--out', 'bench/results/agent-profile'));
const nodeFlags = arg('--node-flags', '').split(' ').filter(Boolean);
const nativeBin = arg('--native', '');
const forwarder = process.argv.includes('--forwarder');
const perfOut = arg('--perf', '');
const wrap = arg('--wrap', '').split(' ').filter(Boolean);
const here = import.meta.dirname;

const wabt = await wabtInit();
const echo = wabt
  .parseWat('echo.wat', await readFile(path.join(here, 'echo.wat'), 'utf8'))
  .toBinary({})
  .buffer.slice();
const digest = createHash('sha256').update(echo).digest('hex');
await using broker = await startMosquitto();
const control = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
await control.publishAsync(
  moduleTopic(digest),
  Buffer.from(
    encodeModuleEnvelope({ sha256: digest, size: echo.length, mediaType: 'application/wasm' }, echo),
  ),
  { qos: 1, retain: true },
);
const node = 'profiled';
await control.publishAsync(
  desiredTopic(node),
  JSON.stringify({
    version: 1,
    node,
    generation: 1,
    functions: [
      {
        namespace: 'bench',
        name: 'echo',
        revision: 'r1',
        module: { sha256: digest, size: echo.length },
        inputs: [{ topic: 'sensors/{node}/in', qos, format: 'raw' }],
        outputs: [{ topic: 'out/{node}/in', qos, retain: false }],
        config: {},
        limits: { memoryBytes: 1 << 20, timeoutMs: 100 },
      },
    ],
  }),
  { qos: 1, retain: true },
);
await mkdir(out, { recursive: true });
const dir = await mkdtemp(path.join(tmpdir(), 'wf-profile-'));
let running = new Promise<void>((resolve) => {
  control.on('message', (_t, p) => {
    const s = JSON.parse(p.toString()) as { functions?: { phase: string }[] };
    if (s.functions?.[0]?.phase === 'Running') resolve();
  });
});
await control.subscribeAsync(statusTopic(node), { qos: 1 });
if (forwarder) running = Promise.resolve();
const agentArgs = ['--broker', broker.url, '--node', node, '--data-dir', dir, '--heartbeat', '5'];
const forwarderArgs = [broker.url, `sensors/${node}/in`, `out/${node}/in`, String(qos)];
// Under --perf, V8 writes its JIT symbols for perf (/tmp/perf-PID.map) instead of a profile.
const v8Profile = perfOut
  ? [
      '--perf-basic-prof',
      '--interpreted-frames-native-stack',
      '--no-logfile-per-isolate',
      `--logfile=${path.join(out, 'v8.log')}`,
    ]
  : ['--cpu-prof', `--cpu-prof-dir=${out}`];
const program = forwarder
  ? [
      '--input-type=module',
      '--eval',
      stripTypeScriptTypes(await readFile(path.join(here, 'baseline.ts'), 'utf8')),
      'baseline.ts',
      ...forwarderArgs,
    ]
  : [path.join(here, '../../agent/bin/wasmfleet-agent.js'), ...agentArgs];
const command = nativeBin
  ? [...wrap, nativeBin, ...agentArgs]
  : [...wrap, process.execPath, ...v8Profile, ...nodeFlags, ...program];
// The forwarder is evaluated from the bench's directory, so `import 'mqtt'` resolves as from its file.
const agent = spawn(command[0]!, command.slice(1), {
  stdio: ['ignore', forwarder ? 'pipe' : 'inherit', 'inherit'],
  cwd: here,
});
if (forwarder) {
  await once(agent.stdout!, 'data'); // 'ready': subscribed
  agent.stdout!.pipe(process.stdout); // what --node-flags '--trace-…' print
}
/** The agent's own process: under --wrap, the child of the profiler that runs it. */
async function agentPid(): Promise<number> {
  if (!wrap.length) return agent.pid!;
  const children = await readFile(`/proc/${agent.pid}/task/${agent.pid}/children`, 'utf8');
  return Number(children.trim().split(' ')[0]);
}
/** `perf record` on the running process (CPU-time samples, call graphs) until it gets SIGINT. */
async function attachPerf(pid: number): Promise<ReturnType<typeof spawn>> {
  const perf = spawn('perf', ['record', '-F', '4999', '-g', '-p', String(pid), '-o', perfOut], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  // perf says nothing until it stops; give it a moment to attach to every thread.
  await new Promise((r) => setTimeout(r, 300));
  return perf;
}
/** CPU time (user + system, all threads) in µs and read/write system calls so far. */
async function usage(pid: number): Promise<{ cpuUs: number; faults: number; reads: number; writes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  const count = (field: string) => Number(new RegExp(`${field}: (\\d+)`).exec(io)?.[1] ?? NaN);
  return {
    cpuUs: (Number(fields[11]) + Number(fields[12])) * 10_000,
    // minflt: pages the process touched for the first time (each one zeroed by the kernel).
    faults: Number(fields[7]),
    reads: count('syscr'),
    writes: count('syscw'),
  };
}
try {
  await running;
  const pid = await agentPid();
  const perf = perfOut ? await attachPerf(pid) : undefined;
  const before = await usage(pid);
  const sink = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  const sensor = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
  // Nagle off, as run.ts has it: the packets then reach the agent as run.ts sends them.
  for (const c of [sink, sensor]) (c.stream as Partial<{ setNoDelay(on: boolean): void }>).setNoDelay?.(true);
  let received = 0;
  sink.on('message', () => received++);
  await sink.subscribeAsync(`out/${node}/in`, { qos });
  const payload = Buffer.alloc(size, 0x61);
  let inFlight = 0;
  for (let i = 0; i < messages; i++) {
    if (qos === 1) {
      while (inFlight >= 64) await new Promise((r) => setImmediate(r));
      inFlight++;
      sensor.publish(`sensors/${node}/in`, payload, { qos }, () => inFlight--);
    } else {
      sensor.publish(`sensors/${node}/in`, payload, { qos });
      if (i % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  const deadline = Date.now() + 30_000;
  while (received < messages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const after = await usage(pid);
  if (perf) {
    perf.kill('SIGINT');
    await once(perf, 'exit');
  }
  const per = (n: number) => +(n / Math.max(received, 1)).toFixed(2);
  console.log(
    `${received} of ${messages} outputs; per message: ${per(after.cpuUs - before.cpuUs)} µs CPU, ` +
      `${per(after.reads - before.reads)} reads, ${per(after.writes - before.writes)} writes, ` +
      `${per(after.faults - before.faults)} page faults; profiles in ${perfOut || out}`,
  );
  await Promise.all([sink.endAsync(), sensor.endAsync()]);
} finally {
  agent.kill('SIGTERM');
  await once(agent, 'exit');
  await control.endAsync();
  await rm(dir, { recursive: true, force: true });
}
