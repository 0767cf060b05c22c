// SPDX-License-Identifier: Apache-2.0
// How a startup snapshot is built (cli/bin/bundle.js, buildSnapshotBlob; docs/adr/0058): its
// build's stdout must not be a pipe. oclif touches process.stdout as it loads, and a pipe's
// stdout is a net.Socket, which the snapshot would keep: ~200 kB that every call reads back.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildSnapshotBlob } from '../bin/bundle.js';

describe('building a startup snapshot', () => {
  it('gives the build a stdout that is not a socket, and still fails on a warning', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-snapshot-build-'));
    try {
      const script = path.join(dir, 'snapshot.cjs');
      // Touches stdout as oclif does when it loads, and says on stderr (a warning fails the build) what it got.
      await writeFile(
        script,
        `if (process.stdout.constructor.name === 'Socket') process.emitWarning('stdout is a socket');\n` +
          `require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {});\n`,
      );
      const blob = path.join(dir, 'test.blob');
      const built = buildSnapshotBlob(script, 'test', blob);
      const why = existsSync(`${blob}.failed`) ? await readFile(`${blob}.failed`, 'utf8') : '';
      assert.equal(built, true, why);
      assert.ok(existsSync(blob));

      await writeFile(script, `process.emitWarning('something');\n`);
      assert.equal(buildSnapshotBlob(script, 'test', path.join(dir, 'warned.blob')), false);
      assert.match(await readFile(path.join(dir, 'warned.blob.failed'), 'utf8'), /something/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
