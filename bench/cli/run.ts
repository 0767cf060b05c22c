// SPDX-License-Identifier: Apache-2.0
// CLI call latency: `wasmfleet get | describe | rollout status | --help` side by side with the
// real kubectl the project builds, against one real API server, in one run (issue 14's target:
// p50 ≤ 1.5× kubectl's). Each call is a fresh process, as a user's is; ours and kubectl's calls
// alternate, so that load from other processes falls on both alike.
//
//   node bench/cli/run.ts                 # 20 calls of each
//   node bench/cli/run.ts --calls 50
//   node bench/cli/run.ts --with-sources  # also the CLI run from its TypeScript sources (before ADR 0027)
//   node bench/cli/run.ts --without-snapshot  # also the CLI run without its startup snapshot (before ADR 0040)
//   node bench/cli/run.ts --with-launcher     # also `node cli/bin/wasmfleet.js` (the package's bin), besides .tools/bin/wasmfleet
//   node bench/cli/run.ts --with-floor        # also Node's floor: an empty startup snapshot plus TLS set up (floor.ts)
//   node bench/cli/run.ts --with-blob FILE    # also another startup snapshot of the current build (an A/B of a snapshot change)
//
// Prints tables of p50, p90 and CPU per call, each with its ratio to kubectl, and writes
// bench/results/cli.json. Never fails on timings.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureKubectlBinary, startControlPlane } from '@wasmfleet/local-stack';
import { createFixture, FIXTURE_NAMESPACE } from './fixture.ts';
import { floorArgv } from './floor.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20' },
    'with-sources': { type: 'boolean', default: false },
    'without-snapshot': { type: 'boolean', default: false },
    'with-launcher': { type: 'boolean', default: false },
    'with-floor': { type: 'boolean', default: false },
    'with-blob': { type: 'string' },
  },
});
const CALLS = Number(values.calls);

interface Contender {
  readonly name: string;
  readonly argv: (args: readonly string[]) => readonly string[];
  /** Added to the calls' environment. */
  readonly env?: NodeJS.ProcessEnv;
}

interface Case {
  readonly name: string;
  readonly ours: readonly string[];
  /** kubectl's nearest equivalent (rollout status reads one object, as `kubectl get` does). */
  readonly kubectl: readonly string[];
}

const NS = ['-n', FIXTURE_NAMESPACE];
const CASES: readonly Case[] = [
  { name: 'get functions', ours: ['get', 'functions', ...NS], kubectl: ['get', 'wasmfunctions', ...NS] },
  { name: 'get nodes', ours: ['get', 'nodes'], kubectl: ['get', 'edgenodes'] },
  {
    name: 'describe function',
    ours: ['describe', 'function', 'temp-alert', ...NS],
    kubectl: ['describe', 'wasmfunction', 'temp-alert', ...NS],
  },
  {
    name: 'rollout status',
    ours: ['rollout', 'status', 'temp-alert', ...NS],
    kubectl: ['get', 'wasmfunction', 'temp-alert', ...NS],
  },
  { name: '--help', ours: ['--help'], kubectl: ['--help'] },
  { name: 'get --help', ours: ['get', '--help'], kubectl: ['get', '--help'] },
];

const plane = await startControlPlane({ progress: (line) => console.error(`[control plane] ${line}`) });
try {
  const kubeconfig = plane.kubeconfigPath;
  await createFixture(plane);
  const { kubectl } = await ensureKubectlBinary();
  const wrapper = path.join(ROOT, '.tools/bin/wasmfleet');
  // What a user runs after the README's PATH line (scripts/setup writes it); else the launcher.
  console.error(`wasmfleet runs as ${existsSync(wrapper) ? wrapper : 'node cli/bin/wasmfleet.js'}`);
  const ours: Contender = existsSync(wrapper)
    ? { name: 'wasmfleet', argv: (a) => [wrapper, ...a] }
    : { name: 'wasmfleet', argv: (a) => [process.execPath, path.join(ROOT, 'cli/bin/wasmfleet.js'), ...a] };
  const sources: Contender = {
    name: 'wasmfleet (sources)',
    argv: (a) => [process.execPath, path.join(ROOT, 'cli/bin/wasmfleet.ts'), ...a],
  };
  const launcher: Contender = {
    name: 'launcher',
    argv: (a) => [process.execPath, path.join(ROOT, 'cli/bin/wasmfleet.js'), ...a],
  };
  // The launcher as before ADR 0040: the bundle loaded in-process, with its compile cache.
  const withoutSnapshot: Contender = {
    ...launcher,
    name: 'no snapshot',
    env: { WASMFLEET_CLI_SNAPSHOT: 'off' },
  };
  const theirs: Contender = { name: 'kubectl', argv: (a) => [kubectl, ...a] };
  const floor: Contender | undefined = values['with-floor']
    ? { name: 'node floor', argv: floorArgv() }
    : undefined;
  // A blob made with WASMFLEET_CLI_SNAPSHOT_BUILD set to the current build's id (else it hands
  // every call to the launcher), as .tools/bin/wasmfleet starts the current one.
  const otherBlob = values['with-blob'];
  const other: Contender | undefined = otherBlob
    ? { name: 'other blob', argv: (a) => [process.execPath, '--snapshot-blob', otherBlob, '--', ...a] }
    : undefined;
  const env = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    NO_COLOR: '1',
    WASMFLEET_DEV_DIR: path.join(ROOT, '.no-dev-stack'),
  };
  const load = [loadavg()[0] ?? 0];
  const results = [];
  for (const c of CASES) {
    const contenders: [Contender, readonly string[]][] = [
      [ours, c.ours],
      [theirs, c.kubectl],
      ...(values['with-sources'] ? [[sources, c.ours] as [Contender, readonly string[]]] : []),
      ...(values['without-snapshot'] ? [[withoutSnapshot, c.ours] as [Contender, readonly string[]]] : []),
      ...(values['with-launcher'] ? [[launcher, c.ours] as [Contender, readonly string[]]] : []),
      ...(floor ? [[floor, c.ours] as [Contender, readonly string[]]] : []),
      ...(other ? [[other, c.ours] as [Contender, readonly string[]]] : []),
    ];
    // One untimed call each: the first call after a build fills the bundle's compile cache.
    for (const [who, args] of contenders) await call(who.argv(args), { ...env, ...who.env });
    const samples = new Map<string, Sample[]>(contenders.map(([who]) => [who.name, []]));
    for (let i = 0; i < CALLS; i++) {
      for (const [who, args] of contenders)
        samples.get(who.name)?.push(await call(who.argv(args), { ...env, ...who.env }));
    }
    results.push({ case: c.name, samples: Object.fromEntries(samples) });
  }
  load.push(loadavg()[0] ?? 0);
  report(results, load);
} finally {
  await plane.stop();
}

/** Milliseconds from spawn to exit; a failing call is an error (the fixture is wrong). */
interface Sample {
  /** Wall time from spawn to exit. */
  readonly ms: number;
  /** CPU time (user + system) of the call's processes: under load, wall time is mostly waiting for a core. */
  readonly cpuMs: number;
}

/** One call; a failing call is an error (the fixture is wrong). */
async function call(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const [file = '', ...args] = argv;
  const cpuBefore = reapedChildrenCpuMs();
  const started = performance.now();
  const ms = await new Promise<number>((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')} failed: ${stderr}`, { cause: error }));
      else resolve(performance.now() - started);
    });
  });
  return { ms, cpuMs: reapedChildrenCpuMs() - cpuBefore };
}

/**
 * CPU time of this process's children that have exited and been waited for (cutime + cstime of
 * /proc/self/stat, in 10 ms ticks): the calls, one at a time; the control plane's processes
 * still run, so they are not in it.
 */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function report(results: { case: string; samples: Record<string, Sample[]> }[], load: number[]): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nCLI call latency, ${CALLS} calls each, ${cpus().length} cores, ${cpu}`);
  console.log(`load average (1 min) at start ${load[0]?.toFixed(2)}, at end ${load[1]?.toFixed(2)}\n`);
  // The optional contenders (--with-sources, --without-snapshot, --with-launcher, --with-floor, --with-blob), after ours and kubectl.
  const names = [
    'wasmfleet',
    'kubectl',
    'wasmfleet (sources)',
    'no snapshot',
    'launcher',
    'node floor',
    'other blob',
  ].filter((name) => results.some((r) => r.samples[name]));
  const rows = results.map((r) => {
    const stat = (name: string) => {
      const s = r.samples[name] ?? [];
      const wall = s.map((x) => x.ms);
      const cpuMs = s.reduce((sum, x) => sum + x.cpuMs, 0) / s.length;
      return { p50: quantile(wall, 0.5), p90: quantile(wall, 0.9), cpuMs };
    };
    return { case: r.case, stats: Object.fromEntries(names.map((name) => [name, stat(name)])) };
  });
  const cell = (text: string, width: number) => text.padStart(width);
  const widthOf = (name: string) => Math.max(name.length, 16) + 2;
  const table = (title: string, value: (s: { p50: number; p90: number; cpuMs: number }) => number) => {
    console.log(`${title.padEnd(20)}${names.map((n) => cell(n, widthOf(n))).join('')}`);
    for (const r of rows) {
      const kubectl = r.stats.kubectl;
      const cells = names.map((n) => {
        const s = r.stats[n];
        if (!s || !kubectl) return cell('', widthOf(n));
        const v = value(s);
        const ratio = n === 'kubectl' ? '' : ` ${(v / value(kubectl)).toFixed(2)}×`;
        return cell(`${v.toFixed(0)} ms${ratio}`, widthOf(n));
      });
      console.log(`${r.case.padEnd(20)}${cells.join('')}`);
    }
    console.log('');
  };
  table('wall p50 (× kubectl)', (s) => s.p50);
  table('wall p90 (× kubectl)', (s) => s.p90);
  table('CPU/call (× kubectl)', (s) => s.cpuMs);
  const out = path.join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, 'cli.json'),
    JSON.stringify({ cpu, cores: cpus().length, calls: CALLS, load, rows, results }, null, 2),
  );
}
