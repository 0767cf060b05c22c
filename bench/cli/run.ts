// SPDX-License-Identifier: Apache-2.0
// CLI call latency: `wasmfleet get | describe | rollout status | --help` side by side with the
// real kubectl the project builds, against one real API server, in one run (issue 14's target:
// p50 ≤ 1.5× kubectl's). Each call is a fresh process, as a user's is; ours and kubectl's calls
// alternate, so that load from other processes falls on both alike.
//
//   node bench/cli/run.ts                 # 20 calls of each
//   node bench/cli/run.ts --calls 50
//   node bench/cli/run.ts --with-sources  # also the CLI run from its TypeScript sources (before ADR 0027)
//
// Prints a table of p50/p90 and ratios and writes bench/results/cli.json. Never fails on timings.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureKubectlBinary, startControlPlane } from '@wasmfleet/local-stack';
import { createFixture, FIXTURE_NAMESPACE } from './fixture.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: { calls: { type: 'string', default: '20' }, 'with-sources': { type: 'boolean', default: false } },
});
const CALLS = Number(values.calls);

interface Contender {
  readonly name: string;
  readonly argv: (args: readonly string[]) => readonly string[];
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
  const ours: Contender = existsSync(wrapper)
    ? { name: 'wasmfleet', argv: (a) => [wrapper, ...a] }
    : { name: 'wasmfleet', argv: (a) => [process.execPath, path.join(ROOT, 'cli/bin/wasmfleet.js'), ...a] };
  const sources: Contender = {
    name: 'wasmfleet (sources)',
    argv: (a) => [process.execPath, path.join(ROOT, 'cli/bin/wasmfleet.ts'), ...a],
  };
  const theirs: Contender = { name: 'kubectl', argv: (a) => [kubectl, ...a] };
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
    ];
    // One untimed call each: the first call after a build fills the bundle's compile cache.
    for (const [who, args] of contenders) await call(who.argv(args), env);
    const samples = new Map<string, number[]>(contenders.map(([who]) => [who.name, []]));
    for (let i = 0; i < CALLS; i++) {
      for (const [who, args] of contenders) samples.get(who.name)?.push(await call(who.argv(args), env));
    }
    results.push({ case: c.name, samples: Object.fromEntries(samples) });
  }
  load.push(loadavg()[0] ?? 0);
  report(results, load);
} finally {
  await plane.stop();
}

/** Milliseconds from spawn to exit; a failing call is an error (the fixture is wrong). */
function call(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file = '', ...args] = argv;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')} failed: ${stderr}`, { cause: error }));
      else resolve(performance.now() - started);
    });
  });
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function report(results: { case: string; samples: Record<string, number[]> }[], load: number[]): void {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nCLI call latency, ${CALLS} calls each, ${cpus().length} cores, ${cpu}`);
  console.log(`load average (1 min) at start ${load[0]?.toFixed(2)}, at end ${load[1]?.toFixed(2)}\n`);
  const rows = results.map((r) => {
    const stat = (name: string) => {
      const s = r.samples[name] ?? [];
      return { p50: quantile(s, 0.5), p90: quantile(s, 0.9) };
    };
    const ours = stat('wasmfleet');
    const kubectl = stat('kubectl');
    const sources = r.samples['wasmfleet (sources)'] ? stat('wasmfleet (sources)') : undefined;
    return { case: r.case, ours, kubectl, sources, ratio: ours.p50 / kubectl.p50 };
  });
  const ms = (v: number) => `${v.toFixed(0)} ms`.padStart(8);
  console.log(
    `${'call'.padEnd(20)}${'wasmfleet p50'.padStart(14)}${'p90'.padStart(9)}${'kubectl p50'.padStart(13)}${'p90'.padStart(9)}${'p50 ratio'.padStart(11)}${rows.some((r) => r.sources) ? '  sources p50' : ''}`,
  );
  for (const r of rows) {
    console.log(
      `${r.case.padEnd(20)}${ms(r.ours.p50).padStart(14)}${ms(r.ours.p90).padStart(9)}${ms(r.kubectl.p50).padStart(13)}${ms(r.kubectl.p90).padStart(9)}${`${r.ratio.toFixed(2)}×`.padStart(11)}${r.sources ? ms(r.sources.p50).padStart(13) : ''}`,
    );
  }
  const out = path.join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, 'cli.json'),
    JSON.stringify({ cpu, cores: cpus().length, calls: CALLS, load, rows, results }, null, 2),
  );
}
