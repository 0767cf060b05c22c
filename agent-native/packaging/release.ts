// SPDX-License-Identifier: Apache-2.0
// Builds the native agent's release artifacts (docs/native-agent.md "Packages", docs/adr/0039):
// a versioned tarball and a .deb with the hardened systemd unit, each with a sha256sum line and
// the release key's Ed25519 signature of it — the same files, key formats, maintainer scripts and
// checks as the Node agent's release (agent/release/), whose packing and signing this reuses.
// The package installs the binary as wasmfleet-agent too, so the command `wasmfleet nodes join`
// prints runs as printed on a native device.
//
//   npm run release:agent-native                                # this machine's architecture, into dist/release/
//   npm run release:agent-native -- --key /secure/release-2026.key --out /tmp/r
//   npm run release:agent-native -- --target aarch64-unknown-linux-gnu   # where that Rust target and a linker are installed
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cacheRoot } from '../../local-stack/src/go-tools.ts';
import {
  REPO_ROOT,
  cargoBuild,
  ensureNativeAgent,
  nativeAgentKey,
} from '../../local-stack/src/native-agent.ts';
import {
  packDeb,
  packTarball,
  signFile,
  type DebPackage,
  type SignedFile,
} from '../../agent/release/packages.ts';
import { releaseKey } from '../../agent/release/release-key.ts';
import { FILES_DIR } from '../../agent/release/release-tree.ts';
import { isReleaseArch, releaseStem, type ReleaseArch } from '../../agent/release/targets.ts';

const NAME = 'wasmfleet-agent-native';
const HERE = import.meta.dirname;

const NATIVE_AGENT_DEB: DebPackage = {
  name: NAME,
  commands: [NAME, 'wasmfleet-agent'],
  unitFile: path.join(HERE, `${NAME}.service`),
  control: (version, arch, installedKiB) =>
    [
      `Package: ${NAME}`,
      `Version: ${version}`,
      `Architecture: ${arch}`,
      'Maintainer: WasmFleet maintainers <maintainers@wasmfleet.io>',
      `Installed-Size: ${installedKiB}`,
      'Depends: libc6 (>= 2.34), passwd, coreutils',
      // Both agents read /etc/wasmfleet/agent.env: installed together they would log in as one device.
      'Conflicts: wasmfleet-agent',
      'Section: net',
      'Priority: optional',
      'Homepage: https://wasmfleet.io',
      'Description: WasmFleet device agent (native, Wasmtime)',
      ' Runs WebAssembly functions that a WasmFleet operator places on this device, fed by',
      ' MQTT sensor readings, as a hardened systemd service: one binary, no runtime beside it.',
      ' Join a fleet with the command `wasmfleet nodes join` prints.',
      '',
    ].join('\n'),
};

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    out: { type: 'string', default: path.join(REPO_ROOT, 'dist/release') },
    key: { type: 'string', default: process.env.WASMFLEET_RELEASE_KEY },
    'key-id': { type: 'string', default: process.env.WASMFLEET_RELEASE_KEY_ID },
    'no-deb': { type: 'boolean', default: false },
  },
  strict: true,
});
const progress = (line: string): void => void process.stderr.write(`[release] ${line}\n`);
const version = await crateVersion();
const { binary, arch } = values.target ? await crossBuild(values.target) : await hostBuild();
const key = await releaseKey(values.key, values['key-id'], cacheRoot());
if (key.throwaway)
  progress(
    `signing with the throwaway key ${key.id} (${path.join(cacheRoot(), 'release-keys')}); a real release passes --key`,
  );
await mkdir(values.out, { recursive: true });
await writeFile(path.join(values.out, `${key.id}.pub`), key.publicPem);
const work = await mkdtemp(path.join(values.out, '.native-release-'));
try {
  const tree = path.join(work, 'tree', releaseStem(version, arch, NAME));
  await writeTree(tree, binary, version, key);
  const signed: SignedFile[] = [await signFile(await packTarball(tree, values.out), key.privateKey)];
  if (!values['no-deb'])
    signed.push(
      await signFile(await packDeb(NATIVE_AGENT_DEB, tree, version, arch, values.out, work), key.privateKey),
    );
  for (const s of signed)
    process.stdout.write(`${s.file}  ${(s.size / 1e6).toFixed(1)} MB  sha256:${s.sha256}\n`);
  process.stdout.write(
    `verify: cd ${values.out} && sha256sum -c F.sha256 && openssl pkeyutl -verify -pubin -inkey ${key.id}.pub -rawin -in F.sha256 -sigfile F.sha256.sig\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}

/**
 * bin/ (the agent, and `wasmfleet-agent` naming it), share/ (the unit, an example agent.env —
 * the Node agent's: same variables — and the release key), VERSION.
 */
async function writeTree(
  root: string,
  binary: string,
  version: string,
  signer: { id: string; publicPem: string },
): Promise<void> {
  const bin = path.join(root, 'bin');
  await mkdir(bin, { recursive: true });
  await copyFile(binary, path.join(bin, NAME));
  await chmod(path.join(bin, NAME), 0o755);
  await symlink(NAME, path.join(bin, 'wasmfleet-agent'));
  const share = path.join(root, 'share');
  await mkdir(path.join(share, 'systemd'), { recursive: true });
  await copyFile(NATIVE_AGENT_DEB.unitFile, path.join(share, 'systemd', `${NAME}.service`));
  await copyFile(path.join(FILES_DIR, 'agent.env.example'), path.join(share, 'agent.env.example'));
  await mkdir(path.join(share, 'release-keys'), { recursive: true });
  await writeFile(path.join(share, 'release-keys', `${signer.id}.pub`), signer.publicPem);
  await writeFile(path.join(root, 'VERSION'), `${version}\n`);
}

async function crateVersion(): Promise<string> {
  const manifest = await readFile(path.join(REPO_ROOT, 'agent-native/Cargo.toml'), 'utf8');
  const found = /^version = "([^"]+)"/m.exec(manifest)?.[1];
  if (!found) throw new Error('agent-native/Cargo.toml has no version = "…" line');
  return found;
}

/** This machine's build (cached by its inputs, local-stack/src/native-agent.ts). */
async function hostBuild(): Promise<{ binary: string; arch: ReleaseArch }> {
  if (!isReleaseArch(process.arch))
    throw new Error(
      `this machine is ${process.arch}; the native agent's packages are for x64 and arm64 (pass --target)`,
    );
  const built = await ensureNativeAgent({ progress });
  return { binary: built.path, arch: process.arch };
}

/** A build for another architecture: its Rust target and linker must be installed (docs/native-agent.md). */
async function crossBuild(target: string): Promise<{ binary: string; arch: ReleaseArch }> {
  const arch = target.startsWith('aarch64-') ? 'arm64' : target.startsWith('x86_64-') ? 'x64' : undefined;
  if (!arch)
    throw new Error(
      `--target ${target}: packages are made for x86_64-* and aarch64-* Linux targets (armv7: see docs/native-agent.md)`,
    );
  const targetDir = path.join(cacheRoot(), 'agent-native', 'target');
  progress(`cargo build --release --target ${target} into ${targetDir}`);
  await cargoBuild(targetDir, await nativeAgentKey(), progress, ['--target', target]).catch(
    (cause: unknown) => {
      throw new Error(
        `cargo build --target ${target} failed: is the target installed (rustup target add ${target}) and its linker named (CARGO_TARGET_<TRIPLE>_LINKER)?`,
        { cause },
      );
    },
  );
  return { binary: path.join(targetDir, target, 'release', NAME), arch };
}
