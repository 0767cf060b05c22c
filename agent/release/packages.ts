// SPDX-License-Identifier: Apache-2.0
// Packs a release directory two ways: a reproducible tarball (sorted names, fixed times, owner
// root) and a .deb made with dpkg-deb that installs it as /usr/lib/<package> with the systemd
// unit and maintainer scripts (agent/release/deb/). Each gets its checksum line and the release
// key's signature of it (api/src/signing/release.ts). Used for both agents: the Node agent's
// release (agent/scripts/release.ts) and the native one's (agent-native/packaging/release.ts).
import { execFile, spawn } from 'node:child_process';
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { releaseChecksumLine, signRelease } from '@wasmfleet/api';
import { ARCH_NAMES, debianVersion, type ReleaseArch } from './targets.ts';
import { FILES_DIR } from './release-tree.ts';

const run = promisify(execFile);
const DEB_SCRIPTS = path.join(import.meta.dirname, 'deb');
/** Every file's time in the archives (reproducible builds); SOURCE_DATE_EPOCH overrides it. */
const EPOCH = process.env.SOURCE_DATE_EPOCH ?? '0';

export interface SignedFile {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** <file>.sha256 (a sha256sum line) and <file>.sha256.sig (raw Ed25519). */
  readonly checksumFile: string;
  readonly signatureFile: string;
  /** Base64 of the signature, for an AgentRollout's artifacts. */
  readonly signature: string;
}

/** <outDir>/<stem>.tar.gz of `treeDir` (whose last path part is the stem). */
export async function packTarball(treeDir: string, outDir: string): Promise<string> {
  const out = path.join(outDir, `${path.basename(treeDir)}.tar.gz`);
  const tar = spawn(
    'tar',
    [
      '--sort=name',
      `--mtime=@${EPOCH}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--format=gnu',
      '-C',
      path.dirname(treeDir),
      '-cf',
      '-',
      path.basename(treeDir),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const gzip = spawn('gzip', ['-n', '-6'], { stdio: ['pipe', 'pipe', 'inherit'] });
  tar.stdout.pipe(gzip.stdin);
  await Promise.all([
    pipeline(gzip.stdout, createWriteStream(out)),
    exited(tar, 'tar'),
    exited(gzip, 'gzip'),
  ]);
  return out;
}

/** What differs between the two agents' .debs (the Node agent's here, the native one's in agent-native/packaging). */
export interface DebPackage {
  /** The Debian package name; the tree installs as /usr/lib/<name>. */
  readonly name: string;
  /** Files of the tree's bin/ that become commands in /usr/bin. */
  readonly commands: readonly string[];
  /** The systemd unit file, installed into /usr/lib/systemd/system; its name is @SERVICE@ in the maintainer scripts. */
  readonly unitFile: string;
  /** The control file for a version, dpkg architecture and installed size. */
  control(debVersion: string, debArch: string, installedKiB: number): string;
}

/** The Node agent's package: the release tree with its Node runtime, and its upgrade supervisor as the unit's program. */
export const NODE_AGENT_DEB: DebPackage = {
  name: 'wasmfleet-agent',
  commands: ['wasmfleet-agent'],
  unitFile: path.join(FILES_DIR, 'wasmfleet-agent.service'),
  control: (version, arch, installedKiB) =>
    [
      'Package: wasmfleet-agent',
      `Version: ${version}`,
      `Architecture: ${arch}`,
      'Maintainer: WasmFleet maintainers <maintainers@wasmfleet.io>',
      `Installed-Size: ${installedKiB}`,
      'Depends: passwd, coreutils, tar, gzip',
      // Both agents read /etc/wasmfleet/agent.env: installed together they would log in as one device.
      'Conflicts: wasmfleet-agent-native',
      'Section: net',
      'Priority: optional',
      'Homepage: https://wasmfleet.io',
      'Description: WasmFleet device agent',
      ' Runs WebAssembly functions that a WasmFleet operator places on this device, fed by',
      ' MQTT sensor readings, as a hardened systemd service. Ships its own Node.js runtime.',
      ' Join a fleet with the command `wasmfleet nodes join` prints.',
      '',
    ].join('\n'),
};

/**
 * <outDir>/<name>_<version>_<dpkg arch>.deb (Debian's naming) installing `treeDir` as
 * /usr/lib/<name>, its commands in /usr/bin, its unit, and the maintainer scripts of deb/ (shared
 * by both agents' packages: the `wasmfleet` user, /etc/wasmfleet, the service).
 */
export async function packDeb(
  pkg: DebPackage,
  treeDir: string,
  version: string,
  arch: ReleaseArch,
  outDir: string,
  workDir: string,
): Promise<string> {
  const root = path.join(workDir, 'deb-root');
  const lib = path.join(root, 'usr/lib', pkg.name);
  await mkdir(path.dirname(lib), { recursive: true });
  await cp(treeDir, lib, { recursive: true, verbatimSymlinks: true });
  await mkdir(path.join(root, 'usr/bin'), { recursive: true });
  for (const command of pkg.commands)
    await symlink(`../lib/${pkg.name}/bin/${command}`, path.join(root, 'usr/bin', command));
  const units = path.join(root, 'usr/lib/systemd/system');
  await mkdir(units, { recursive: true });
  const service = path.basename(pkg.unitFile);
  await copyFile(pkg.unitFile, path.join(units, service));
  const control = path.join(root, 'DEBIAN');
  await mkdir(control, { recursive: true });
  for (const script of await readdir(DEB_SCRIPTS)) {
    const text = await readFile(path.join(DEB_SCRIPTS, script), 'utf8');
    await writeFile(path.join(control, script), text.replaceAll('@SERVICE@', service));
    await chmod(path.join(control, script), 0o755);
  }
  const { stdout } = await run('du', ['-sk', '--exclude=DEBIAN', root]);
  const installedKiB = Number(stdout.split(/\s/)[0]);
  await writeFile(
    path.join(control, 'control'),
    pkg.control(debianVersion(version), ARCH_NAMES[arch].deb, installedKiB),
  );
  const out = path.join(outDir, debFileName(pkg.name, version, arch));
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out], {
    env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
  });
  return out;
}

export function debFileName(name: string, version: string, arch: ReleaseArch): string {
  return `${name}_${debianVersion(version)}_${ARCH_NAMES[arch].deb}.deb`;
}

/** Writes <file>.sha256 and <file>.sha256.sig next to `file`. */
export async function signFile(file: string, key: KeyObject): Promise<SignedFile> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  const sha256 = hash.digest('hex');
  const name = path.basename(file);
  const checksumFile = `${file}.sha256`;
  const signatureFile = `${checksumFile}.sig`;
  await writeFile(checksumFile, releaseChecksumLine(sha256, name));
  const signature = signRelease(sha256, name, key);
  await writeFile(signatureFile, signature);
  return {
    file,
    sha256,
    size: (await stat(file)).size,
    checksumFile,
    signatureFile,
    signature: signature.toString('base64'),
  };
}

function exited(child: ReturnType<typeof spawn>, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.on('error', (cause) => reject(new Error(`could not run ${name}`, { cause })));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited with ${code}`))));
  });
}
