// SPDX-License-Identifier: Apache-2.0
// The native agent's release artifacts as a device owner gets them: package.sh turns the agent
// laid out as it installs into a tarball and a .deb (dpkg-deb) with the systemd unit and the
// settings file, plus their SHA-256 — checked with tar, dpkg-deb and sha256sum.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { nativeAgentBinary } from './helpers.ts';

const run = promisify(execFile);
const PACKAGING = fileURLToPath(new URL('../packaging/', import.meta.url));

it('packages the agent as a tarball and a .deb with a hardened systemd unit and checksums', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-pkg-'));
  const root = path.join(work, 'root');
  await mkdir(path.join(root, 'usr/bin'), { recursive: true });
  await mkdir(path.join(root, 'lib/systemd/system'), { recursive: true });
  await mkdir(path.join(root, 'etc/wasmfleet'), { recursive: true });
  await copyFile(await nativeAgentBinary(), path.join(root, 'usr/bin/wasmfleet-agent-native'));
  await chmod(path.join(root, 'usr/bin/wasmfleet-agent-native'), 0o755);
  await copyFile(
    path.join(PACKAGING, 'wasmfleet-agent-native.service'),
    path.join(root, 'lib/systemd/system/wasmfleet-agent-native.service'),
  );
  await copyFile(path.join(PACKAGING, 'agent.env'), path.join(root, 'etc/wasmfleet/agent.env'));
  const out = path.join(work, 'out');
  const { stdout } = await run(path.join(PACKAGING, 'package.sh'), [
    ...['--name', 'wasmfleet-agent-native', '--version', '0.2.0', '--arch', 'amd64'],
    ...['--root', root, '--out', out, '--service', 'wasmfleet-agent-native.service'],
  ]);
  const [tarball, deb, sums] = stdout.trim().split('\n');
  assert.ok(tarball && deb && sums, `package.sh printed its three files: ${stdout}`);
  assert.ok(tarball.endsWith('wasmfleet-agent-native-0.2.0-linux-x86_64.tar.gz'));
  assert.ok(deb.endsWith('wasmfleet-agent-native_0.2.0_amd64.deb'));
  const listing = (await run('tar', ['-tvzf', tarball])).stdout;
  assert.match(listing, /^drwxr-xr-x 0\/0 .* \.\/$/m, 'the root directory is 0755, owned by root');
  assert.match(listing, /^-rwxr-xr-x 0\/0 .* \.\/usr\/bin\/wasmfleet-agent-native$/m);
  const info = (await run('dpkg-deb', ['-I', deb])).stdout;
  assert.match(info, /Package: wasmfleet-agent-native/);
  assert.match(info, /Architecture: amd64/);
  assert.match(info, /conffiles/);
  const contents = (await run('dpkg-deb', ['-c', deb])).stdout;
  assert.match(contents, /\.\/lib\/systemd\/system\/wasmfleet-agent-native\.service/);
  const unit = (await run('dpkg-deb', ['--fsys-tarfile', deb], { encoding: 'buffer', maxBuffer: 256 << 20 }))
    .stdout;
  assert.ok(unit.length > 1_000_000, 'the .deb carries the binary');
  const service = await readFile(path.join(PACKAGING, 'wasmfleet-agent-native.service'), 'utf8');
  for (const line of [
    'DynamicUser=yes',
    'ProtectSystem=strict',
    'StateDirectory=wasmfleet-agent',
    'CapabilityBoundingSet=',
    'Restart=on-failure',
  ])
    assert.ok(service.includes(line), `the unit has ${line}`);
  const check = await run('sha256sum', ['-c', path.basename(sums)], { cwd: out });
  assert.match(check.stdout, /tar\.gz: OK/);
  assert.match(check.stdout, /\.deb: OK/);
});
