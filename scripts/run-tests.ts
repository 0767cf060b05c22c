// SPDX-License-Identifier: Apache-2.0
// Runs the whole test suite (what CI runs) against one shared real control plane.
//
//   npm test                          # everything
//   npm test -- agent/test/store/module-store.test.ts   # some files (paths or globs)
//
// It builds or finds kube-apiserver/etcd/kubectl, starts them once with the CRDs installed, and
// hands their coordinates to every test process (see test-support/src/control-plane/shared.ts),
// then runs node's test runner and always tears the control plane down. Files start longest
// first, by the times of earlier runs kept in ~/.cache/wasmfleet/test-times.json, two at a time;
// the soak runs in a lane of its own beside them, and the static checks run beside the tests
// too. The run ends with the slowest files and how long each phase took (docs/adr/0030, 0037).
import { spawn, type ChildProcess } from 'node:child_process';
import { glob, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { cacheRoot } from '../local-stack/src/go-tools.ts';
import { publishControlPlane, SHARED_ENV, startControlPlane } from '../test-support/src/index.ts';
import {
  mergeTimes,
  parseReport,
  parseTimes,
  planLanes,
  timesSummary,
  type FileTimes,
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
const lanes = planLanes(files, earlierTimes);

/** Prints a phase's time the way scripts/lib.sh's `timed` does, with the load beside it. */
function phaseTook(name: string, startMs: number): void {
  const seconds = ((Date.now() - startMs) / 1000).toFixed(0);
  console.error(`==> ${name} took ${seconds}s (load ${loadavg()[0]!.toFixed(2)})`);
}

const children: ChildProcess[] = [];
const run = { interrupted: false };
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    run.interrupted = true;
    for (const child of children) child.kill(signal);
  });
}

// With no file arguments this is the full CI run: the static checks (type-check, lint,
// formatting, CRD drift) run beside the tests, not before them: ~100 s of CPU that took 74 s of
// the last CI run's wall time while no test ran (docs/adr/0037). A failure fails the run.
const checks = requested.length === 0 ? staticChecks() : Promise.resolve(true);

const t0 = Date.now();
const plane = await startControlPlane({ progress: (line) => console.error(`[control plane] ${line}`) });
console.error(`[control plane] up in ${Date.now() - t0} ms (binaries: ${plane.binaries.source})`);
const testsStart = Date.now();
const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-test-run-'));
const coordinates = await publishControlPlane(plane, path.join(scratch, 'control-plane.json'));

// Two files at a time in the shared lanes: most integration tests wait on I/O, but
// timing-sensitive ones (throughput, deadlines) must not starve on a 2-core machine. The soak
// gets a lane of its own beside them (file-times.ts).
const concurrency = Number(process.env.WASMFLEET_TEST_CONCURRENCY ?? '2');
const started = [
  ...(lanes.shared.length > 0 ? [startLane('shared', concurrency, lanes.shared)] : []),
  ...(lanes.own.length > 0 ? [startLane('own', lanes.own.length, lanes.own)] : []),
];
const codes = await Promise.all(started.map((lane) => lane.exit));
const testsSeconds = (Date.now() - testsStart) / 1000;
const checksPassed = await checks;
await plane.stop();
const summaries = await Promise.all(
  started.map((lane) => readFile(lane.tapFile, 'utf8').then(tapSummary, () => undefined)),
);
let times: FileTimes = {};
for (const lane of started)
  times = { ...times, ...parseReport(await readFile(lane.timesFile, 'utf8').catch(() => ''), root) };
await rm(scratch, { recursive: true, force: true });
if (Object.keys(times).length > 0) {
  console.log(`\n${timesSummary(times, testsSeconds, concurrency, lanes.own)}`);
  await mkdir(path.dirname(timesFile), { recursive: true });
  await writeFile(timesFile, `${JSON.stringify(mergeTimes(earlierTimes, times), null, 2)}\n`);
}
console.log(`\ntest run took ${((Date.now() - t0) / 1000).toFixed(0)} s over ${files.length} files`);
if (!checksPassed) console.log('static checks failed');
// The plain closing line CI reads, whatever the reporters printed above it.
const summary = summaries.every((s) => s !== undefined) ? summaries.reduce(addSummaries) : undefined;
if (summary) console.log(`tests: ${summary.pass} passed, ${summary.fail} failed, ${summary.skipped} skipped`);
const failed = codes.find((code) => code !== 0);
process.exit(run.interrupted ? 130 : failed !== undefined ? failed : checksPassed ? 0 : 1);

/**
 * Runs FILES, CONCURRENCY at a time, in the order given, through run-files.ts (not `node --test`,
 * which would sort them by name again), with its own TAP and times reports in the scratch folder.
 */
function startLane(
  name: string,
  lanes: number,
  laneFiles: readonly string[],
): { exit: Promise<number>; tapFile: string; timesFile: string } {
  const tapFile = path.join(scratch, `${name}.tap`);
  const laneTimes = path.join(scratch, `${name}-times.jsonl`);
  const runFiles = path.join(root, 'test-support/src/test-run/run-files.ts');
  const child = spawn(process.execPath, [runFiles, String(lanes), tapFile, laneTimes, ...laneFiles], {
    stdio: 'inherit',
    env: { ...process.env, [SHARED_ENV]: coordinates },
  });
  children.push(child);
  const exit = new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  return { exit, tapFile, timesFile: laneTimes };
}

/** `npm run check`, its output kept and printed (each line marked) when it ends, with its time. */
function staticChecks(): Promise<boolean> {
  const start = Date.now();
  const child = spawn('npm', ['run', '--silent', 'check'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`static checks: cannot run npm: ${error.message}`);
      resolve(false);
    });
    child.on('exit', (code) => {
      const lines = output.split('\n').filter((line) => line.trim() !== '');
      if (lines.length > 0) console.error(lines.map((line) => `[check] ${line}`).join('\n'));
      phaseTook('static checks (npm run check, beside the tests)', start);
      if (code !== 0) console.error('static checks FAILED (above); the tests go on');
      resolve(code === 0);
    });
  });
}

interface TapSummary {
  pass: number;
  fail: number;
  skipped: number;
}

function tapSummary(tap: string): TapSummary {
  const count = (key: string): number => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  return {
    pass: count('pass'),
    fail: count('fail') + count('cancelled'),
    skipped: count('skipped') + count('todo'),
  };
}

function addSummaries(a: TapSummary, b: TapSummary): TapSummary {
  return { pass: a.pass + b.pass, fail: a.fail + b.fail, skipped: a.skipped + b.skipped };
}
