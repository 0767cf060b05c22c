// SPDX-License-Identifier: Apache-2.0
// The full run's file order and its per-file times (scripts/run-tests.ts, docs/adr/0030).
// Regression 2: `node --test` sorts the files it is given by name, so the order must go through
// run() (run-files.ts); the first version passed them to `node --test` and changed nothing.
// Regression: sorted by name, the 10-minute soak started near the end of `npm test` and ran alone
// for ~9 minutes while the other lane was idle (CI 2026-12-06: 1,309 s); longest first, it still
// held one of the two lanes for 615 of 1,266 s, so it now has a lane of its own (docs/adr/0037).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  mergeTimes,
  parseReport,
  parseTimes,
  planLanes,
  timesSummary,
} from '../../src/test-run/file-times.ts';

const RUN_FILES = path.resolve(import.meta.dirname, '../../src/test-run/run-files.ts');

describe('test file order', () => {
  const files = [
    'agent/test/a.test.ts',
    'cli/test/b.test.ts',
    'test/soak/soak.test.ts',
    'workloads/test/c.test.ts',
  ];

  it('gives the soak a lane of its own; the rest in name order on a machine that has timed nothing yet', () => {
    assert.deepEqual(planLanes(files, {}), {
      own: ['test/soak/soak.test.ts'],
      shared: ['agent/test/a.test.ts', 'cli/test/b.test.ts', 'workloads/test/c.test.ts'],
    });
  });

  it('starts the longest files of the last run first; files it has no time for come last', () => {
    const times = { 'cli/test/b.test.ts': 40, 'test/soak/soak.test.ts': 612, 'agent/test/a.test.ts': 3 };
    assert.deepEqual(planLanes(files, times).shared, [
      'cli/test/b.test.ts',
      'agent/test/a.test.ts',
      'workloads/test/c.test.ts',
    ]);
  });

  it('runs only what was asked: no own lane when the soak is not among the files', () => {
    assert.deepEqual(planLanes(['cli/test/b.test.ts'], {}), { own: [], shared: ['cli/test/b.test.ts'] });
  });

  it('keeps the times of files this run did not run, and ignores a times file it cannot read', () => {
    assert.deepEqual(mergeTimes({ 'a.test.ts': 5, 'b.test.ts': 7 }, { 'b.test.ts': 9 }), {
      'a.test.ts': 5,
      'b.test.ts': 9,
    });
    assert.deepEqual(parseTimes('{"a.test.ts": 5, "b.test.ts": "x"}'), { 'a.test.ts': 5 });
    assert.deepEqual(parseTimes('not json'), {});
    assert.deepEqual(parseTimes('[1]'), {});
    assert.deepEqual(parseTimes(undefined), {});
  });

  it('prints the slowest files and how busy the lanes were', () => {
    const summary = timesSummary({ 'a.test.ts': 100, 'b.test.ts': 50, 'c.test.ts': 10 }, 100, 2, [], 2);
    assert.equal(
      summary,
      [
        'slowest files (of 3; 160 s of file time in 100 s over 2 lanes, 80 % busy):',
        '    100 s  a.test.ts',
        '     50 s  b.test.ts',
      ].join('\n'),
    );
  });

  it('counts a file in a lane of its own apart from how busy the shared lanes were', () => {
    const summary = timesSummary({ 'soak.test.ts': 600, 'b.test.ts': 150, 'c.test.ts': 10 }, 100, 2, [
      'soak.test.ts',
    ]);
    assert.match(
      summary,
      /^slowest files \(of 3; 760 s of file time in 100 s over 2 lanes, 80 % busy, and 600 s in lanes of their own\):$/m,
    );
  });
});

describe('run-files.ts', () => {
  it("runs the files in the order given, not by name, and writes each file's own time", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-file-times-'));
    try {
      const body = (ms: number): string =>
        `import { it, describe } from 'node:test';\n` +
        `describe('s', () => { it('waits', () => new Promise((r) => setTimeout(r, ${ms}))); });\n`;
      await writeFile(path.join(dir, 'z-slow.test.mjs'), body(1500));
      await writeFile(path.join(dir, 'a-quick.test.mjs'), body(10));
      const report = path.join(dir, 'times.jsonl');
      // Without NODE_TEST_CONTEXT: set, the inner runner would report to this one, not to files.
      const { NODE_TEST_CONTEXT: _outer, ...env } = process.env;
      const args = [
        RUN_FILES,
        '1',
        path.join(dir, 'results.tap'),
        report,
        'z-slow.test.mjs',
        'a-quick.test.mjs',
      ];
      const code = await new Promise<number | null>((resolve) =>
        spawn(process.execPath, args, { cwd: dir, env, stdio: 'ignore' }).on('exit', resolve),
      );
      assert.equal(code, 0);
      const lines = (await readFile(report, 'utf8')).trim().split('\n');
      assert.deepEqual(
        lines.map((l) => path.basename((JSON.parse(l) as { file: string }).file)),
        ['z-slow.test.mjs', 'a-quick.test.mjs'],
        'one at a time, in the order given',
      );
      const times = parseReport(lines.join('\n'), dir);
      assert.ok(times['z-slow.test.mjs']! >= 1.5, `z-slow.test.mjs took ${times['z-slow.test.mjs']} s`);
      assert.ok(times['z-slow.test.mjs']! > times['a-quick.test.mjs']!);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits non-zero when a test fails', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-file-times-'));
    try {
      await writeFile(
        path.join(dir, 'fails.test.mjs'),
        `import { it } from 'node:test';\nit('fails', () => { throw new Error('no'); });\n`,
      );
      const { NODE_TEST_CONTEXT: _outer, ...env } = process.env;
      const args = [
        RUN_FILES,
        '2',
        path.join(dir, 'results.tap'),
        path.join(dir, 't.jsonl'),
        'fails.test.mjs',
      ];
      const code = await new Promise<number | null>((resolve) =>
        spawn(process.execPath, args, { cwd: dir, env, stdio: 'ignore' }).on('exit', resolve),
      );
      assert.equal(code, 1);
      assert.match(await readFile(path.join(dir, 'results.tap'), 'utf8'), /^# fail 1$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
