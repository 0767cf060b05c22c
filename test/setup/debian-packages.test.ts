// SPDX-License-Identifier: Apache-2.0
// Debian package names are chosen by what apt offers (issue 14: workloads/debian-packages.txt
// pinned libclang-rt-14-dev-wasm32, which other Debian and Ubuntu releases name differently).
// Runs scripts/lib.sh's functions against this machine's apt.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

const lib = (script: string) =>
  run('bash', ['-c', `source scripts/lib.sh && ${script}`], { cwd: ROOT }).then((r) => r.stdout.trim());

it('every package spec in the lists resolves to a package that is installed or that apt offers, {clang} to the clang apt installs', async () => {
  const specs = (
    await Promise.all(
      ['scripts/debian-packages.txt', 'workloads/debian-packages.txt'].map((f) =>
        readFile(path.join(ROOT, f), 'utf8'),
      ),
    )
  )
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  const clang = await lib(
    `apt-cache depends clang | sed -n 's/^ *Depends: clang-\\([0-9]*\\)$/\\1/p' | head -n1`,
  );
  assert.match(clang, /^\d+$/, 'apt names the clang it installs');
  for (const spec of specs) {
    const alternatives = (await lib(`debian_alternatives ${JSON.stringify(spec)}`)).split('\n');
    assert.ok(
      alternatives.length > 0 && alternatives.every((a) => /^[a-z0-9][a-z0-9.+-]+$/.test(a)),
      `${spec}: ${alternatives.join(' ')}`,
    );
    if (spec.includes('{clang}'))
      assert.ok(alternatives.includes(spec.split('|').at(-1)!.trim().replace('{clang}', clang)));
    const installed = await lib(`debian_spec_installed ${JSON.stringify(spec)} && echo yes || echo no`);
    const offered = await lib(`debian_offered ${JSON.stringify(spec)} || echo none`);
    assert.ok(installed === 'yes' || offered !== 'none', `${spec}: neither installed nor offered by apt`);
  }
});

it('an alternative apt does not offer is passed over for one it does', async () => {
  assert.equal(await lib(`debian_offered 'wasmfleet-no-such-package | mosquitto'`), 'mosquitto');
  assert.equal(await lib(`debian_offered 'wasmfleet-no-such-package' || echo none`), 'none');
});
