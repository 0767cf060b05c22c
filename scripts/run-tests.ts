// SPDX-License-Identifier: Apache-2.0
// Runs the whole test suite (what CI runs) against one shared real control plane.
//
//   npm test                          # everything
//   npm test -- agent/test/store.test.ts   # some files (paths or globs)
//
// It builds or finds kube-apiserver/etcd/kubectl, starts them once with the CRDs installed, and
// hands their coordinates to every test process (see test-support/src/control-plane/shared.ts),
// then runs node's test runner and always tears the control plane down. Files start longest
// first, by the times of earlier runs kept in ~/.cache/wasmfleet/test-times.json, and the run
// ends with the slowest files and how long each phase took (docs/adr/0030).
import { spawn } from 'node:child_process';
import { glob, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { cacheRoot } from '../local-stack/src/go-tools.ts';
import { publishControlPlane, SHARED_ENV, startControlPlane } from '../test-support/src/index.ts';
import {
  defaultEstimates,
  longestFirst,
  mergeTimes,
  parseReport,
  parseTimes,
  timesSummary,
} from '../test-support/src/test-run/file-times.ts';

const WORKSPACES = [
  'api',
  'oci',
  'local-stack',
  'test-support',
  'agent',
  'operator',
  'cli',
  'workloads',
  'bench',
  'conformance',
];
const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);

const requested = process.argv.slice(2);
// test/ holds the cross-cutting reliability suites (faults, fuzz, soak; see docs/reliability.md).
const patterns =
  requested.length > 0
    ? requested
    : [
        ...WORKSPACES.map((w) => `${w}/test/**/*.test.ts`),
        'agent-native/test/**/*.test.ts',
        'test/**/*.test.ts',
      ];
const files: string[] = [];
for (const pattern of patterns) {
  for await (const file of glob(pattern, { exclude: (f) => f.includes('node_modules') })) files.push(file);
}
if (files.length === 0) {
  console.error(`no test files match ${patterns.join(' ')}`);
  process.exit(1);
}
files.sort();
const timesFile = path.join(cacheRoot(), 'test-times.json');
const earlierTimes = parseTimes(await readFile(timesFile, 'utf8').catch(() => undefined));
const soakMinutes = Number(process.env.WASMFLEET_SOAK_MINUTES ?? '10');
const ordered = longestFirst(
  files,
  earlierTimes,
  defaultEstimates(Number.isFinite(soakMinutes) ? soakMinutes : 10),
);

/** Prints a phase's time the way scripts/lib.sh's `timed` does, with the load beside it. */
function phaseTook(name: string, startMs: number): void {
  const seconds = ((Date.now() - startMs) / 1000).toFixed(0);
  console.error(`==> ${name} took ${seconds}s (load ${loadavg()[0]!.toFixed(2)})`);
}

// With no file arguments this is the full CI run: static checks first (type-check, lint,
// formatting, CRD drift). A failure is remembered, and the tests still run.
let staticChecksFailed = false;
if (requested.length === 0) {
  const checksStart = Date.now();
  const checks = spawn('npm', ['run', '--silent', 'check'], { stdio: 'inherit' });
  staticChecksFailed = (await new Promise<number | null>((resolve) => checks.on('exit', resolve))) !== 0;
  phaseTook('static checks (npm run check)', checksStart);
  if (staticChecksFailed) console.error('static checks FAILED (see above); running the tests anyway');
}

const t0 = Date.now();
const plane = await startControlPlane({ progress: (line) => console.error(`[control plane] ${line}`) });
console.error(`[control plane] up in ${Date.now() - t0} ms (binaries: ${plane.binaries.source})`);
const testsStart = Date.now();
const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-test-run-'));
const coordinates = await publishControlPlane(plane, path.join(scratch, 'control-plane.json'));

// Two files at a time: most integration tests wait on I/O, but timing-sensitive ones (throughput,
// deadlines) must not starve on a 2-core machine.
const concurrency = process.env.WASMFLEET_TEST_CONCURRENCY ?? '2';
const tapFile = path.join(scratch, 'results.tap');
const timesReport = path.join(scratch, 'file-times.jsonl');
// Through run-files.ts, not `node --test`, which would sort the files by name again.
const child = spawn(
  process.execPath,
  [path.join(root, 'test-support/src/test-run/run-files.ts'), concurrency, tapFile, timesReport, ...ordered],
  { stdio: 'inherit', env: { ...process.env, [SHARED_ENV]: coordinates } },
);

const run = { interrupted: false };
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    run.interrupted = true;
    child.kill(signal);
  });
}
const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
const testsSeconds = (Date.now() - testsStart) / 1000;
await plane.stop();
const summary = await readFile(tapFile, 'utf8').then(tapSummary, () => undefined);
const times = parseReport(await readFile(timesReport, 'utf8').catch(() => ''), root);
await rm(scratch, { recursive: true, force: true });
if (Object.keys(times).length > 0) {
  console.log(`\n${timesSummary(times, testsSeconds, Number(concurrency))}`);
  await mkdir(path.dirname(timesFile), { recursive: true });
  await writeFile(timesFile, `${JSON.stringify(mergeTimes(earlierTimes, times), null, 2)}\n`);
}
console.log(`\ntest run took ${((Date.now() - t0) / 1000).toFixed(0)} s over ${files.length} files`);
if (staticChecksFailed) console.log('static checks failed');
// The plain closing line CI reads, whatever the reporter printed above it.
if (summary) console.log(`tests: ${summary.pass} passed, ${summary.fail} failed, ${summary.skipped} skipped`);
process.exit(run.interrupted ? 130 : code !== 0 ? code : staticChecksFailed ? 1 : 0);

function tapSummary(tap: string): { pass: number; fail: number; skipped: number } {
  const count = (key: string): number => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  return {
    pass: count('pass'),
    fail: count('fail') + count('cancelled'),
    skipped: count('skipped') + count('todo'),
  };
}
