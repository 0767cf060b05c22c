// SPDX-License-Identifier: Apache-2.0
// `npm run release:agent` as a release manager and a device owner meet it: versioned tarballs
// and .debs for x64 and arm64, each verifiable with the documented sha256sum + openssl commands;
// the x64 agent runs from its tarball; the arm64 one carries an aarch64 `node` and, where
// qemu-user-static and the arm64 C libraries are installed (scripts/test installs them), prints
// its version under emulation.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, before, after } from 'node:test';
import { promisify } from 'node:util';
import { buildRelease, verify, type BuiltRelease } from '../helpers/release.ts';
import { tempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);
const QEMU = '/usr/bin/qemu-aarch64-static';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

describe('agent release artifacts', { timeout: 30 * 60_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let x64: BuiltRelease;
  let arm64: BuiltRelease;
  before(async () => {
    dir = await tempDir('wasmfleet-release-test-');
    x64 = await buildRelease(path.join(dir.path, 'out'), 'x64');
    arm64 = await buildRelease(path.join(dir.path, 'out'), 'arm64');
  });
  after(() => dir[Symbol.asyncDispose]());

  it('signs the tarball and the .deb of both architectures so the documented commands verify them', async () => {
    for (const release of [x64, arm64]) {
      assert.ok(release.deb, `${release.manifest.arch}: no .deb was built`);
      for (const file of [release.tarball, release.deb])
        assert.equal(await verify(file, release.publicKey), 'Signature Verified Successfully', file);
    }
  });

  it('refuses a tarball whose checksum line was changed, and a file that does not match its checksum', async () => {
    const forged = path.join(dir.path, 'forged');
    await run('mkdir', ['-p', forged]);
    const tarball = path.join(forged, path.basename(x64.tarball));
    for (const suffix of ['', '.sha256', '.sha256.sig'])
      await run('cp', [`${x64.tarball}${suffix}`, `${tarball}${suffix}`]);
    const line = await readFile(`${tarball}.sha256`, 'utf8');
    // A checksum line naming other bytes (what a forger would publish beside other bytes).
    await writeFile(
      `${tarball}.sha256`,
      line.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    const openssl = run('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      x64.publicKey,
      '-rawin',
      '-in',
      `${tarball}.sha256`,
      '-sigfile',
      `${tarball}.sha256.sig`,
    ]);
    await assert.rejects(openssl, (e: { stdout?: string }) =>
      /Signature Verification Failure/.test(e.stdout ?? ''),
    );
    await writeFile(`${tarball}.sha256`, line);
    await writeFile(tarball, 'not the release');
    await assert.rejects(verify(tarball, x64.publicKey), /did NOT match/);
  });

  it('names the version and architecture in the .deb and installs a unit and a command', async () => {
    // Debian's file naming, as the native agent's package has it.
    assert.match(path.basename(x64.deb ?? ''), /^wasmfleet-agent_\d+\.\d+\.\d+_amd64\.deb$/);
    assert.match(path.basename(arm64.deb ?? ''), /^wasmfleet-agent_\d+\.\d+\.\d+_arm64\.deb$/);
    const info = (
      await run('dpkg-deb', ['-f', x64.deb ?? '', 'Package', 'Version', 'Architecture', 'Conflicts'])
    ).stdout;
    assert.match(
      info,
      /Package: wasmfleet-agent\nVersion: \d+\.\d+\.\d+\nArchitecture: amd64\nConflicts: wasmfleet-agent-native/,
    );
    assert.match((await run('dpkg-deb', ['-f', arm64.deb ?? '', 'Architecture'])).stdout, /arm64/);
    const files = (await run('dpkg-deb', ['-c', x64.deb ?? ''], { maxBuffer: 16 << 20 })).stdout;
    for (const expected of [
      './usr/lib/systemd/system/wasmfleet-agent.service',
      './usr/bin/wasmfleet-agent -> ../lib/wasmfleet-agent/bin/wasmfleet-agent',
      './usr/lib/wasmfleet-agent/lib/node',
      `./usr/lib/wasmfleet-agent/share/release-keys/${x64.manifest.keyId}.pub`,
    ])
      assert.ok(files.includes(expected), `the .deb lacks ${expected}`);
  });

  it('runs the x64 agent from its unpacked tarball', async () => {
    const unpacked = path.join(dir.path, 'x64');
    await run('mkdir', ['-p', unpacked]);
    await run('tar', ['-xzf', x64.tarball, '-C', unpacked, '--strip-components=1']);
    const { stdout } = await run(path.join(unpacked, 'bin/wasmfleet-agent'), ['--version']);
    assert.equal(
      stdout.trim(),
      `wasmfleet-agent ${x64.manifest.version} (node v${x64.manifest.nodeVersion}, linux-x64)`,
    );
    const refused = await run(path.join(unpacked, 'bin/wasmfleet-agent'), [
      '--node',
      'Bad_Name',
      '--broker',
      'mqtt://x',
    ]).catch((e: unknown) => e as { code: number; stderr: string });
    assert.ok('code' in refused && refused.code === 2, 'a bad setting exits 2');
  });

  it('ships an aarch64 node in the arm64 tarball, which runs the agent under emulation', async (t) => {
    const unpacked = path.join(dir.path, 'arm64');
    await run('mkdir', ['-p', unpacked]);
    await run('tar', ['-xzf', arm64.tarball, '-C', unpacked, '--strip-components=1']);
    const node = path.join(unpacked, 'lib/node');
    assert.match((await run('file', ['-b', node])).stdout, /ELF 64-bit LSB .*ARM aarch64/);
    assert.match((await run('readelf', ['-h', node])).stdout, /Machine:\s+AArch64/);
    if (!existsSync(QEMU) || !existsSync(path.join(ARM64_SYSROOT, 'lib/libc.so.6'))) {
      t.skip('qemu-user-static or libc6-arm64-cross is not installed (scripts/test installs both)');
      return;
    }
    const { stdout } = await run(
      QEMU,
      [
        '-L',
        ARM64_SYSROOT,
        node,
        path.join(unpacked, 'lib/app/agent/bundle/wasmfleet-agent.js'),
        '--version',
      ],
      { timeout: 120_000 },
    );
    assert.equal(
      stdout.trim(),
      `wasmfleet-agent ${arm64.manifest.version} (node v${arm64.manifest.nodeVersion}, linux-arm64)`,
    );
  });
});
