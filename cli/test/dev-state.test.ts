// SPDX-License-Identifier: Apache-2.0
// What `dev up` records and what reads it: the detached log stays bounded, and a recorded pid
// counts as a running stack only while it is the very process that recorded it (issue 14:
// `dev down` must never signal anything but its own stack, not a stranger that reused the pid).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { processExists, waitFor } from '@wasmfleet/test-support';
import { rotateLogWhenLarger } from '../src/dev/log-rotation.ts';
import { cli } from './helpers.ts';

describe('dev stack state', () => {
  it('dev down leaves alone a live process whose pid the record names but which started at another time', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dev-state-'));
    // Long enough to outlive a slow run; its exit is awaited from the start (an 'exit' that fired
    // before the finally block would never fire again: the test hung for 12 min at load 30).
    const stranger = spawn('sleep', ['3600'], { stdio: 'ignore' });
    const exited = once(stranger, 'exit');
    try {
      assert.ok(stranger.pid);
      await writeFile(
        path.join(dir, 'state.json'),
        JSON.stringify({
          pid: stranger.pid,
          pidStartTime: '1',
          kubeconfig: '/nowhere',
          broker: 'mqtt://127.0.0.1:1',
          pids: [],
          startedAt: new Date().toISOString(),
        }),
      );
      const down = await cli(['dev', 'down'], undefined, { WASMFLEET_DEV_DIR: dir });
      assert.equal(down.exitCode, 0, down.stderr);
      assert.match(
        down.stdout,
        /no dev stack is running \(the one recorded in .* had already ended; its files are removed\)/,
      );
      assert.ok(processExists(stranger.pid), 'the stranger was signalled');
      const status = await cli(['dev', 'status'], undefined, { WASMFLEET_DEV_DIR: dir });
      assert.equal(status.exitCode, 1);
      assert.match(status.stderr, /^error: no dev stack is running/);
    } finally {
      stranger.kill();
      await exited;
    }
  });

  it('the detached log is copied to .1 and truncated in place once it is over the limit', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dev-log-'));
    const log = path.join(dir, 'dev-up.log');
    await writeFile(log, '');
    const rotation = rotateLogWhenLarger(log, 1024, 50);
    try {
      await appendFile(log, 'x'.repeat(2000));
      await waitFor('the rotation', async () => ((await stat(log)).size === 0 ? true : undefined), {
        timeoutMs: 5_000,
      });
      assert.equal((await readFile(`${log}.1`, 'utf8')).length, 2000);
      await appendFile(log, 'after\n');
      assert.equal(await readFile(log, 'utf8'), 'after\n');
    } finally {
      rotation.stop();
    }
  });
});
