// SPDX-License-Identifier: Apache-2.0
// Builds the agent's release artifacts (docs/devices.md, docs/adr/0031): per architecture a
// versioned tarball (the compiled agent + its Node 24 runtime) and a .deb with a hardened systemd
// unit, each with a sha256sum line and the release key's signature of it. Cached by every input
// in ~/.cache/wasmfleet/release, so an unchanged tree is packed once.
//
//   npm run release:agent                                  # x64 and arm64, into dist/release/
//   npm run release:agent -- --arch x64 --version 0.3.1 --key /secure/release-2026.key
//   npm run release:agent -- --no-deb --out /tmp/r         # tarballs only
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, ensureCompiled } from '../bin/compiled.js';
import { ensureNodeRuntime, pinnedNodeVersion } from '../release/node-runtime.ts';
import { NODE_AGENT_DEB, packDeb, packTarball, signFile, type SignedFile } from '../release/packages.ts';
import type { ArtifactFiles, ReleaseManifest } from '../release/manifest.ts';
import { releaseKey } from '../release/release-key.ts';
import { writeReleaseTree } from '../release/release-tree.ts';
import { RELEASE_ARCHES, isReleaseArch, releaseStem, type ReleaseArch } from '../release/targets.ts';
import { AGENT_VERSION } from '../src/version.ts';

/** Bump when the way releases are made changes without any input file changing. */
const RECIPE = '1';
const RELEASE_DIR = path.join(REPO_ROOT, 'agent/release');
const MANIFEST = 'manifest.json';
/** Cached releases unused this long are removed by the next build. */
const KEEP_CACHED_MS = 7 * 24 * 3600_000;

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: RELEASE_ARCHES.join(',') },
    version: { type: 'string', default: AGENT_VERSION },
    out: { type: 'string', default: path.join(REPO_ROOT, 'dist/release') },
    key: { type: 'string', default: process.env.WASMFLEET_RELEASE_KEY },
    'key-id': { type: 'string', default: process.env.WASMFLEET_RELEASE_KEY_ID },
    'no-deb': { type: 'boolean', default: false },
  },
  strict: true,
});
const arches = values.arch.split(',').map((a) => a.trim());
for (const arch of arches)
  if (!isReleaseArch(arch))
    throw new Error(
      `--arch ${arch}: releases are built for ${RELEASE_ARCHES.join(', ')} (armv7: see docs/devices.md)`,
    );
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(values.version))
  throw new Error(`--version ${values.version}: expected a semantic version such as 0.3.0 or 0.3.0-rc.1`);

const cacheDir =
  process.env.WASMFLEET_CACHE_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'wasmfleet');
const progress = (line: string): void => void process.stderr.write(`[release] ${line}\n`);
const compiled = ensureCompiled();
if (!compiled) throw new Error('the agent does not build; run `npm run build -w agent` to see why');
const key = await releaseKey(values.key, values['key-id'], cacheDir);
if (key.throwaway)
  progress(
    `signing with the throwaway key ${key.id} (${path.join(cacheDir, 'release-keys')}); a real release passes --key`,
  );
const nodeVersion = await pinnedNodeVersion(REPO_ROOT);
await mkdir(values.out, { recursive: true });
await writeFile(path.join(values.out, `${key.id}.pub`), key.publicPem);

for (const arch of arches as ReleaseArch[]) {
  const dir = await ensureRelease(arch);
  const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as ReleaseManifest;
  for (const files of [manifest.tarball, ...(manifest.deb ? [manifest.deb] : [])]) {
    for (const f of [files.file, `${files.file}.sha256`, `${files.file}.sha256.sig`])
      await copyFile(path.join(dir, f), path.join(values.out, f));
    process.stdout.write(
      `${path.join(values.out, files.file)}  ${(files.size / 1e6).toFixed(1)} MB  sha256:${files.sha256}\n`,
    );
  }
  await copyFile(
    path.join(dir, MANIFEST),
    path.join(values.out, `${releaseStem(values.version, arch)}.json`),
  );
}
process.stdout.write(
  `verify: cd ${values.out} && sha256sum -c F.sha256 && openssl pkeyutl -verify -pubin -inkey ${key.id}.pub -rawin -in F.sha256 -sigfile F.sha256.sig\n`,
);
await pruneCache(path.join(cacheDir, 'release'));

/** The cached release of `arch` for the current inputs, built when missing. */
async function ensureRelease(arch: ReleaseArch): Promise<string> {
  const runtime = await ensureNodeRuntime(cacheDir, nodeVersion, arch, progress);
  const stem = releaseStem(values.version, arch);
  const inputs = await inputDigest([
    compiled ?? '',
    runtime.sha256,
    stem,
    key.id,
    key.publicPem,
    String(values['no-deb']),
  ]);
  const dir = path.join(cacheDir, 'release', `${stem}-${inputs.slice(0, 16)}`);
  if (await stat(path.join(dir, MANIFEST)).catch(() => undefined)) {
    progress(`${stem}: cached (${dir})`);
    return dir;
  }
  const started = Date.now();
  await mkdir(path.dirname(dir), { recursive: true });
  const work = await mkdtemp(`${dir}.building-`);
  try {
    const tree = path.join(work, 'tree', stem);
    await writeReleaseTree(tree, {
      compiledDir: compiled ?? '',
      runtime,
      version: values.version,
      releaseKey: { id: key.id, pem: key.publicPem },
    });
    const out = path.join(work, 'out');
    await mkdir(out);
    const tarball = await signFile(await packTarball(tree, out), key.privateKey);
    const deb = values['no-deb']
      ? undefined
      : await signFile(await packDeb(NODE_AGENT_DEB, tree, values.version, arch, out, work), key.privateKey);
    const manifest: ReleaseManifest = {
      version: values.version,
      arch,
      nodeVersion,
      keyId: key.id,
      throwawayKey: key.throwaway,
      tarball: artifact(tarball),
      ...(deb ? { deb: artifact(deb) } : {}),
    };
    await writeFile(path.join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(out, dir).catch(async (error: unknown) => {
      if (!(await stat(path.join(dir, MANIFEST)).catch(() => undefined))) throw error; // not a concurrent build that won
    });
    progress(`${stem}: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return dir;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function artifact(signed: SignedFile): ArtifactFiles {
  return {
    file: path.basename(signed.file),
    sha256: signed.sha256,
    size: signed.size,
    signature: signed.signature,
  };
}

/** A digest of the release recipe: these values plus every file under agent/release/. */
async function inputDigest(parts: readonly string[]): Promise<string> {
  const hash = createHash('sha256').update(RECIPE);
  for (const part of parts) hash.update('\0').update(part);
  const files = (await readdir(RELEASE_DIR, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  for (const file of files)
    hash
      .update('\0')
      .update(path.relative(RELEASE_DIR, file))
      .update('\0')
      .update(await readFile(file));
  hash.update('\0').update(await readFile(new URL(import.meta.url)));
  return hash.digest('hex');
}

async function pruneCache(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [])) {
    const full = path.join(dir, entry);
    const info = await stat(full).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > KEEP_CACHED_MS) await rm(full, { recursive: true, force: true });
  }
}
