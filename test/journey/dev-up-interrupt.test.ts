// SPDX-License-Identifier: Apache-2.0
// Ctrl-C on `scripts/dev-up` in a terminal (issue 14): it used to exit 130 after 0.26 s, in a
// burst of "reconcile failed" / "watch failed" lines, twice taking the surrounding shell down,
// and it left a 62–131 MB /tmp/wasmfleet-control-plane-* with etcd's data and an admin token.
// Here a parent shell runs it in the foreground, and SIGINT goes to the whole foreground process
// group, as a terminal sends it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { processExists } from '@wasmfleet/test-support';
import { sh, shown } from './helpers/shell.ts';
import { userEnv } from './helpers/stack.ts';

it(
  'Ctrl-C stops dev up in order, exits 0, keeps the parent shell, and leaves no process and no file behind',
  { timeout: 30 * 60_000 },
  async () => {
    const devDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-interrupt-dev-'));
    // Everything dev up (or anything it starts) puts in the temp dir lands here, apart from other tests.
    const temp = await mkdtemp(path.join(tmpdir(), 'wasmfleet-interrupt-tmp-'));
    try {
      const env = { ...userEnv(devDir), TMPDIR: temp };
      let running: { pid: number; pids: number[] } | undefined;
      const r = await sh(
        'scripts/dev-up --broker-port 0 --devices 1 --cameras 0; echo "dev-up exited $?"; echo "the parent shell carries on"',
        {
          env,
          interruptWhen: /WasmFleet is up/,
          beforeInterrupt: async () => {
            running = JSON.parse(await readFile(path.join(devDir, 'state.json'), 'utf8')) as typeof running;
          },
          timeoutMs: 25 * 60_000,
        },
      );
      const output = r.stdout + r.stderr;
      assert.equal(r.code, 0, `the parent shell died (${r.signal ?? r.code})\n${shown(r)}`);
      assert.match(r.stdout, /^dev-up exited 0$/m, shown(r));
      assert.match(r.stdout, /^the parent shell carries on$/m, shown(r));
      assert.match(r.stderr, /stopping the dev stack…\n(.*\n)*dev stack stopped/, shown(r));
      assert.doesNotMatch(output, /reconcile failed|watch failed/, shown(r));
      assert.ok(running, 'dev up recorded no state while it ran');
      const left = [running.pid, ...running.pids].filter(processExists);
      assert.deepEqual(left, [], `still running after Ctrl-C: ${left.join(', ')}`);
      assert.deepEqual(await readdir(temp), [], 'dev up left files in the temp dir');
      assert.deepEqual(await readdir(devDir), [], 'dev up left files in WASMFLEET_DEV_DIR');
    } finally {
      await rm(temp, { recursive: true, force: true });
      await rm(devDir, { recursive: true, force: true });
    }
  },
);
