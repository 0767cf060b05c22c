// SPDX-License-Identifier: Apache-2.0
// Runs the whole test suite (what CI runs) against one shared real control plane.
//
//   npm test                          # everything
//   npm test -- agent/test/store.test.ts   # some files (paths or globs)
//
// It builds or finds kube-apiserver/etcd/kubectl, starts them once with the CRDs installed, and
// hands their coordinates to every test process (see test-support/src/control-plane/shared.ts),
// then runs node's test runner and always tears the control plane down.
import { spawn } from 'node:child_process';
import { glob, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { publishControlPlane, SHARED_ENV, startControlPlane } from '../test-support/src/index.ts';

const WORKSPACES = ['api', 'test-support', 'agent', 'operator', 'cli', 'workloads', 'bench'];
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

// With no file arguments this is the full CI run: static checks first (type-check, lint,
// formatting, CRD drift). A failure is remembered, and the tests still run.
let staticChecksFailed = false;
if (requested.length === 0) {
  const checks = spawn('npm', ['run', '--silent', 'check'], { stdio: 'inherit' });
  staticChecksFailed = (await new Promise<number | null>((resolve) => checks.on('exit', resolve))) !== 0;
  if (staticChecksFailed) console.error('static checks FAILED (see above); running the tests anyway');
}

const t0 = Date.now();
const plane = await startControlPlane({ progress: (line) => console.error(`[control plane] ${line}`) });
console.error(`[control plane] up in ${Date.now() - t0} ms (binaries: ${plane.binaries.source})`);
const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-test-run-'));
const coordinates = await publishControlPlane(plane, path.join(scratch, 'control-plane.json'));

// Two files at a time: most integration tests wait on I/O, but timing-sensitive ones (throughput,
// deadlines) must not starve on a 2-core machine.
const concurrency = process.env.WASMFLEET_TEST_CONCURRENCY ?? '2';
const tapFile = path.join(scratch, 'results.tap');
const child = spawn(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
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
await plane.stop();
const summary = await readFile(tapFile, 'utf8').then(tapSummary, () => undefined);
await rm(scratch, { recursive: true, force: true });
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
