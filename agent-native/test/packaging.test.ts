// SPDX-License-Identifier: Apache-2.0
// `npm run release:agent-native` as a release manager and a device owner meet it: a versioned
// tarball and .deb for this machine's architecture, signed like the Node agent's (a sha256sum
// line and the release key's Ed25519 signature of it, checked with the documented commands), the
// agent runs from the unpacked tarball under both its names (`wasmfleet-agent` is what
// `wasmfleet nodes join` prints), and the .deb installs the command, the hardened unit and the
// maintainer scripts the Node agent's package has. The .deb under systemd, and joining with it:
// agent/test/release/deb-systemd.test.ts, operator/test/join/deb-join.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildNativeRelease, verify, type BuiltNativeRelease } from '../../agent/test/helpers/release.ts';

const run = promisify(execFile);
const VERSION = /^version = "([^"]+)"/m.exec(
  await readFile(new URL('../Cargo.toml', import.meta.url), 'utf8'),
)?.[1];
const ARCH = process.arch === 'arm64' ? { node: 'arm64', deb: 'arm64' } : { node: 'x64', deb: 'amd64' };

describe('native agent release artifacts', { timeout: 60 * 60_000 }, () => {
  let work: string;
  let release: BuiltNativeRelease;
  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-native-release-'));
    release = await buildNativeRelease(path.join(work, 'out'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('names version and architecture as the Node agent does, and signs both so the documented commands verify them', async () => {
    assert.equal(
      path.basename(release.tarball),
      `wasmfleet-agent-native-${VERSION}-linux-${ARCH.node}.tar.gz`,
    );
    assert.equal(path.basename(release.deb), `wasmfleet-agent-native_${VERSION}_${ARCH.deb}.deb`);
    for (const file of [release.tarball, release.deb])
      assert.equal(await verify(file, release.publicKey), 'Signature Verified Successfully', file);
    // A download that does not match its signed checksum line is refused.
    const copy = path.join(work, 'forged', path.basename(release.tarball));
    await mkdir(path.dirname(copy), { recursive: true });
    for (const suffix of ['.sha256', '.sha256.sig'])
      await run('cp', [`${release.tarball}${suffix}`, `${copy}${suffix}`]);
    await writeFile(copy, 'not the release');
    await assert.rejects(verify(copy, release.publicKey), /did NOT match/);
  });

  it('runs from its unpacked tarball, also as wasmfleet-agent, and joins from there', async () => {
    const unpacked = path.join(work, 'unpacked');
    await mkdir(unpacked, { recursive: true });
    await run('tar', ['-xzf', release.tarball, '-C', unpacked, '--strip-components=1']);
    const listing = (await run('tar', ['-tvzf', release.tarball])).stdout;
    assert.match(listing, /^-rwxr-xr-x 0\/0 .* wasmfleet-agent-native-[^/]+\/bin\/wasmfleet-agent-native$/m);
    assert.match(listing, /^lrwxrwxrwx 0\/0 .*\/bin\/wasmfleet-agent -> wasmfleet-agent-native$/m);
    for (const file of ['share/systemd/wasmfleet-agent-native.service', 'share/agent.env.example', 'VERSION'])
      assert.match(listing, new RegExp(`/${file.replaceAll('.', '\\.')}$`, 'm'), `the tarball lacks ${file}`);
    assert.match(listing, /\/share\/release-keys\/[a-z0-9._-]+\.pub$/m);
    for (const name of ['wasmfleet-agent-native', 'wasmfleet-agent']) {
      const { stdout } = await run(path.join(unpacked, 'bin', name), ['--version']);
      assert.equal(stdout.trim(), `${VERSION}+native`);
    }
    const help = await run(path.join(unpacked, 'bin/wasmfleet-agent'), ['join', '--help']);
    assert.match(help.stdout, /Usage: wasmfleet-agent join <broker-url> --token <token>/);
  });

  it('installs the command under both names, the hardened unit and the shared maintainer scripts', async () => {
    const fields = (
      await run('dpkg-deb', ['-f', release.deb, 'Package', 'Version', 'Architecture', 'Conflicts'])
    ).stdout;
    assert.equal(
      fields,
      `Package: wasmfleet-agent-native\nVersion: ${VERSION}\nArchitecture: ${ARCH.deb}\nConflicts: wasmfleet-agent\n`,
    );
    const files = (await run('dpkg-deb', ['-c', release.deb])).stdout;
    for (const expected of [
      './usr/lib/systemd/system/wasmfleet-agent-native.service',
      './usr/bin/wasmfleet-agent-native -> ../lib/wasmfleet-agent-native/bin/wasmfleet-agent-native',
      './usr/bin/wasmfleet-agent -> ../lib/wasmfleet-agent-native/bin/wasmfleet-agent',
    ])
      assert.ok(files.includes(expected), `the .deb lacks ${expected}:\n${files}`);
    const control = path.join(work, 'control');
    await run('dpkg-deb', ['-e', release.deb, control]);
    const postinst = await readFile(path.join(control, 'postinst'), 'utf8');
    assert.match(postinst, /useradd --system .* wasmfleet/s);
    assert.match(postinst, /systemctl enable wasmfleet-agent-native\.service/);
    const unit = await readFile(
      new URL('../packaging/wasmfleet-agent-native.service', import.meta.url),
      'utf8',
    );
    for (const line of [
      'User=wasmfleet',
      'ConditionPathExists=/etc/wasmfleet/agent.env',
      'EnvironmentFile=/etc/wasmfleet/agent.env',
      'ProtectSystem=strict',
      'StateDirectory=wasmfleet',
      'CapabilityBoundingSet=\n',
      'NoNewPrivileges=yes',
      'SystemCallFilter=@system-service',
      'Restart=on-failure',
      'Alias=wasmfleet-agent.service',
    ])
      assert.ok(unit.includes(line), `the unit lacks ${line.trim()}`);
  });
});
