// SPDX-License-Identifier: Apache-2.0
// What the agent needs on a device, measured from the release tarball as a device runs it (the
// launcher, the shipped `node`, started by wasmfleet-agent-supervise): disk (tarball, unpacked
// release), idle RSS with no function and with one, RSS per further function, and the
// supervisor's own RSS. The peer in the same run, on the same broker and module: the native agent
// (agent-native/, Wasmtime), with ratios Node/native. Against a real Mosquitto; prints one JSON
// object. Numbers go to docs/devices.md; nothing here fails on a threshold.
//   node bench/device/run.ts [--functions 10] [--settle-ms 8000]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { startMosquitto } from '@wasmfleet/test-support';
import { ensureNativeAgent } from '@wasmfleet/local-stack';
import {
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  waitForStatus,
} from '../../agent/test/helpers/fleet.ts';
import { buildRelease } from '../../agent/test/helpers/release.ts';
import { fixture } from '../../agent/test/helpers/wasm.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { functions: { type: 'string', default: '10' }, 'settle-ms': { type: 'string', default: '8000' } },
});
const extra = Number(values.functions);
const settleMs = Number(values['settle-ms']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RSS in MB of a process (from /proc, as the kernel counts it). */
async function rssMb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? 0) / 1024;
}

/** The agent's node process under the supervisor (its only child). */
async function childOf(pid: number): Promise<number> {
  const { stdout } = await run('sh', ['-c', `cat /proc/${pid}/task/*/children`]);
  const child = Number(stdout.trim().split(/\s+/)[0]);
  if (!child) throw new Error('the supervisor has not started the agent');
  return child;
}

interface Memory {
  readonly idleRssMbNoFunction: number;
  readonly idleRssMbOneFunction: number;
  readonly rssMbPerExtraFunction: number;
}

/** Idle RSS of one running agent (process `pid`, device `node`): none, one, then 1 + extra echo functions. */
async function measureMemory(
  observer: MqttClient,
  node: string,
  pid: () => Promise<number>,
): Promise<Memory> {
  await waitForStatus(observer, node, (s) => s.state === 'online', 60_000);
  await sleep(settleMs);
  const idleNoFunction = await rssMb(await pid());
  const echo = await fixture('healthy/echo.wat');
  await publishModule(observer, echo);
  const fns = (n: number) =>
    Array.from({ length: n }, (_, i) => fnSpec(`echo-${i}`, echo, { revision: `echo-${i}-1` }));
  await publishDesired(observer, node, fns(1), 1);
  await waitForStatus(observer, node, (s) => fnStatus(s, 'echo-0')?.phase === 'Running', 60_000);
  await sleep(settleMs);
  const idleOneFunction = await rssMb(await pid());
  await publishDesired(observer, node, fns(1 + extra), 2);
  const running = (s: { functions?: readonly { phase?: string }[] }) =>
    (s.functions ?? []).filter((f) => f.phase === 'Running').length === 1 + extra;
  await waitForStatus(observer, node, running, 60_000);
  await sleep(settleMs);
  const withMore = await rssMb(await pid());
  return {
    idleRssMbNoFunction: +idleNoFunction.toFixed(1),
    idleRssMbOneFunction: +idleOneFunction.toFixed(1),
    rssMbPerExtraFunction: +((withMore - idleOneFunction) / extra).toFixed(2),
  };
}

function stop(child: ChildProcess): Promise<unknown> {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

const work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-device-bench-'));
const broker = await startMosquitto();
try {
  const release = await buildRelease(path.join(work, 'out'), 'x64');
  const root = path.join(work, 'release');
  await run('mkdir', ['-p', root]);
  await run('tar', ['-xzf', release.tarball, '-C', root, '--strip-components=1']);
  const unpackedMb = Number((await run('du', ['-sk', root])).stdout.split(/\s/)[0]) / 1024;
  const observer = await connect(broker.url);
  const deviceEnv = (node: string, state: string) => ({
    ...process.env,
    WASMFLEET_STATE_DIR: state,
    WASMFLEET_DATA_DIR: path.join(state, 'agent'),
    WASMFLEET_NODE: node,
    WASMFLEET_BROKER: broker.url,
    WASMFLEET_HEARTBEAT: '5',
  });

  const state = path.join(work, 'state');
  const supervisor = spawn(path.join(root, 'bin/wasmfleet-agent-supervise'), [], {
    env: deviceEnv('bench-device', state),
    stdio: 'ignore',
  });
  const nodeAgent = await measureMemory(observer, 'bench-device', () => childOf(supervisor.pid ?? 0));
  const stateDirKb = Number((await run('du', ['-sk', state])).stdout.split(/\s/)[0]);
  const supervisorRssMb = +(await rssMb(supervisor.pid ?? 0)).toFixed(1);
  await stop(supervisor);

  const nativeBinary = (await ensureNativeAgent({ progress: (l) => console.error(`[native agent] ${l}`) }))
    .path;
  const nativeState = path.join(work, 'native-state');
  const native = spawn(nativeBinary, [], { env: deviceEnv('bench-native', nativeState), stdio: 'ignore' });
  const nativeAgent = await measureMemory(observer, 'bench-native', () => Promise.resolve(native.pid ?? 0));
  const nativeBinaryMb = (await stat(nativeBinary)).size / 1e6;
  await stop(native);

  const ratio = (a: number, b: number) => +(a / b).toFixed(1);
  const result = {
    cpu: cpus()[0]?.model ?? 'unknown',
    version: release.manifest.version,
    node: `v${release.manifest.nodeVersion}`,
    tarballMb: +(release.manifest.tarball.size / 1e6).toFixed(1),
    debMb: release.manifest.deb ? +(release.manifest.deb.size / 1e6).toFixed(1) : undefined,
    unpackedMb: +unpackedMb.toFixed(1),
    stateDirKb,
    ...nodeAgent,
    extraFunctions: extra,
    supervisorRssMb,
    native: { binaryMb: +nativeBinaryMb.toFixed(1), ...nativeAgent },
    nodeOverNative: {
      installedSize: ratio(unpackedMb, nativeBinaryMb),
      idleRssNoFunction: ratio(nodeAgent.idleRssMbNoFunction, nativeAgent.idleRssMbNoFunction),
      idleRssOneFunction: ratio(nodeAgent.idleRssMbOneFunction, nativeAgent.idleRssMbOneFunction),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  await observer.endAsync();
} finally {
  await broker.stop();
  await rm(work, { recursive: true, force: true });
}
