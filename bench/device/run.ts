// What the agent needs on a device, measured from the release tarball as a device runs it (the
// launcher, the shipped `node`, started by wasmfleet-agent-supervise): disk (tarball, unpacked
// release), idle RSS with no function and with one, RSS per further function, and the
// supervisor's own RSS. Against a real Mosquitto; prints one JSON object. Numbers go to
// docs/devices.md; nothing here fails on a threshold.
//   node bench/device/run.ts [--functions 10] [--settle-ms 8000]
import { execFile, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startMosquitto } from '@wasmfleet/test-support';
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

const work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-device-bench-'));
const broker = await startMosquitto();
try {
  const release = await buildRelease(path.join(work, 'out'), 'x64');
  const root = path.join(work, 'release');
  await run('mkdir', ['-p', root]);
  await run('tar', ['-xzf', release.tarball, '-C', root, '--strip-components=1']);
  const unpackedMb = Number((await run('du', ['-sk', root])).stdout.split(/\s/)[0]) / 1024;
  const node = 'bench-device';
  const supervisor = spawn(path.join(root, 'bin/wasmfleet-agent-supervise'), [], {
    env: {
      ...process.env,
      WASMFLEET_STATE_DIR: path.join(work, 'state'),
      WASMFLEET_DATA_DIR: path.join(work, 'state/agent'),
      WASMFLEET_NODE: node,
      WASMFLEET_BROKER: broker.url,
      WASMFLEET_HEARTBEAT: '5',
    },
    stdio: 'ignore',
  });
  const observer = await connect(broker.url);
  await waitForStatus(observer, node, (s) => s.state === 'online', 60_000);
  const agentPid = await childOf(supervisor.pid ?? 0);
  await sleep(settleMs);
  const idleNoFunction = await rssMb(agentPid);
  const echo = await fixture('healthy/echo.wat');
  await publishModule(observer, echo);
  const fns = (n: number) =>
    Array.from({ length: n }, (_, i) => fnSpec(`echo-${i}`, echo, { revision: `echo-${i}-1` }));
  await publishDesired(observer, node, fns(1), 1);
  await waitForStatus(observer, node, (s) => fnStatus(s, 'echo-0')?.phase === 'Running', 60_000);
  await sleep(settleMs);
  const idleOneFunction = await rssMb(agentPid);
  await publishDesired(observer, node, fns(1 + extra), 2);
  await waitForStatus(
    observer,
    node,
    (s) => (s.functions ?? []).filter((f) => f.phase === 'Running').length === 1 + extra,
    60_000,
  );
  await sleep(settleMs);
  const withMore = await rssMb(agentPid);
  const dataKb = Number((await run('du', ['-sk', path.join(work, 'state')])).stdout.split(/\s/)[0]);
  const result = {
    cpu: cpus()[0]?.model ?? 'unknown',
    version: release.manifest.version,
    node: `v${release.manifest.nodeVersion}`,
    tarballMb: +(release.manifest.tarball.size / 1e6).toFixed(1),
    debMb: release.manifest.deb ? +(release.manifest.deb.size / 1e6).toFixed(1) : undefined,
    unpackedMb: +unpackedMb.toFixed(1),
    stateDirKb: dataKb,
    idleRssMbNoFunction: +idleNoFunction.toFixed(1),
    idleRssMbOneFunction: +idleOneFunction.toFixed(1),
    rssMbPerExtraFunction: +((withMore - idleOneFunction) / extra).toFixed(2),
    extraFunctions: extra,
    supervisorRssMb: +(await rssMb(supervisor.pid ?? 0)).toFixed(1),
  };
  console.log(JSON.stringify(result, null, 2));
  supervisor.kill('SIGTERM');
  await new Promise((resolve) => supervisor.on('exit', resolve));
  await observer.endAsync();
} finally {
  await broker.stop();
  await rm(work, { recursive: true, force: true });
}
