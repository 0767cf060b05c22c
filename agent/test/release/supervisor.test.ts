// SPDX-License-Identifier: Apache-2.0
// wasmfleet-agent-supervise, the script the service runs, with stand-in agents (sh scripts in the
// release layout) so each way a trial can end is quick to show: a version that exits at once and
// one that never becomes healthy are rolled back and the previous one runs again; a healthy one
// becomes current and stays current after a restart; SIGTERM stops the agent and the supervisor.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.ts';

const SUPERVISOR = path.resolve(import.meta.dirname, '../../release/files/wasmfleet-agent-supervise');

/**
 * A stand-in agent: logs "<name> started trial=<0|1>", then per `behaviour`: `upgrade` asks for a
 * trial of the directory named in <versions>/next (exit 75), `crash` exits 1, `hang` runs without
 * ever being healthy, `good` writes healthy when on trial; all but crash stop on SIGTERM.
 */
async function release(
  root: string,
  name: string,
  behaviour: 'upgrade' | 'crash' | 'hang' | 'good',
): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await copyFile(SUPERVISOR, path.join(dir, 'bin/wasmfleet-agent-supervise'));
  const script = `#!/bin/sh
echo "${name} started trial=\${WASMFLEET_TRIAL:-0}" >> "$WASMFLEET_VERSIONS_DIR/../log"
trap 'echo "${name} stopped" >> "$WASMFLEET_VERSIONS_DIR/../log"; exit 0' TERM
case ${behaviour} in
  crash) exit 1 ;;
  upgrade) if [ -f "$WASMFLEET_VERSIONS_DIR/next" ]; then mv "$WASMFLEET_VERSIONS_DIR/next" "$WASMFLEET_VERSIONS_DIR/trial"; exit 75; fi ;;
  good) [ "$WASMFLEET_TRIAL" = 1 ] && date > "$WASMFLEET_VERSIONS_DIR/healthy" ;;
esac
while :; do sleep 0.1; done
`;
  await writeFile(path.join(dir, 'bin/wasmfleet-agent'), script);
  for (const f of ['wasmfleet-agent', 'wasmfleet-agent-supervise'])
    await chmod(path.join(dir, 'bin', f), 0o755);
  return dir;
}

function supervise(packaged: string, state: string): ChildProcess {
  return spawn(path.join(packaged, 'bin/wasmfleet-agent-supervise'), [], {
    env: { ...process.env, WASMFLEET_STATE_DIR: state },
    stdio: 'ignore',
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const read = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');

/**
 * SIGTERM, then wait for the supervisor to exit (it stops its agent first): the temporary folder is
 * removed next, and an agent still appending "stopped" to the log made that fail (ENOTEMPTY).
 */
async function stop(supervisor: ChildProcess): Promise<void> {
  if (supervisor.exitCode !== null || supervisor.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => supervisor.once('exit', () => resolve()));
  supervisor.kill('SIGTERM');
  await exited;
}

describe('wasmfleet-agent-supervise', { timeout: 120_000 }, () => {
  for (const [behaviour, reason] of [
    ['crash', 'exited'],
    ['hang', 'deadline'],
  ] as const) {
    it(`rolls back a version on trial that ${behaviour === 'crash' ? 'exits' : 'is never healthy'} and runs the previous one again`, async () => {
      await using dir = await tempDir('wasmfleet-supervise-');
      const packaged = await release(dir.path, 'packaged', 'upgrade');
      const next = await release(dir.path, behaviour, behaviour);
      const state = path.join(dir.path, 'state');
      await mkdir(path.join(state, 'versions'), { recursive: true });
      await writeFile(path.join(state, 'versions/next'), `${next} 2 0\n`);
      const supervisor = supervise(packaged, state);
      try {
        await until('the rollback', async () =>
          (await read(path.join(state, 'versions/failed'))).includes(` ${reason}`),
        );
        await until('the previous version again', async () =>
          (await read(path.join(state, 'log'))).trim().endsWith('packaged started trial=0'),
        );
        const log = (await read(path.join(state, 'log'))).trim().split('\n');
        assert.deepEqual(log.slice(0, 2), ['packaged started trial=0', `${behaviour} started trial=1`]);
        assert.equal(await read(path.join(state, 'versions/current')), '');
        assert.equal(await read(path.join(state, 'versions/trial')), '');
      } finally {
        await stop(supervisor);
      }
    });
  }

  it('makes a healthy version current, keeps it after a restart, and stops it on SIGTERM', async () => {
    await using dir = await tempDir('wasmfleet-supervise-');
    const packaged = await release(dir.path, 'packaged', 'upgrade');
    const good = await release(dir.path, 'good', 'good');
    const state = path.join(dir.path, 'state');
    await mkdir(path.join(state, 'versions'), { recursive: true });
    await writeFile(path.join(state, 'versions/next'), `${good} 30 0\n`);
    let supervisor = supervise(packaged, state);
    await until(
      'good to become current',
      async () => (await read(path.join(state, 'versions/current'))).trim() === good,
    );
    const exited = new Promise<number | null>((resolve) => supervisor.on('exit', resolve));
    supervisor.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(await read(path.join(state, 'log')), /good stopped\n$/);
    supervisor = supervise(packaged, state);
    try {
      await until('good after the restart', async () =>
        (await read(path.join(state, 'log'))).trim().endsWith('good started trial=0'),
      );
    } finally {
      await stop(supervisor);
    }
  });
});
