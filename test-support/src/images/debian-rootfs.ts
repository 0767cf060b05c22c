// SPDX-License-Identifier: Apache-2.0
// Debian root filesystems made with debootstrap from Debian's packages — the base of every image
// built here (no container registry is reachable), and of the systemd containers issue 17's
// package tests boot. Each is cached as a tarball keyed by its suite, variant and packages.
import { access, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { digestOf } from './image-cache.ts';
import { docker, imageCacheDir, runCommand } from './docker.ts';

export const DEBIAN_SUITE = 'bookworm';

export interface DebianRootfsSpec {
  /** A short name for logs and the cache file, e.g. 'node-base'. */
  readonly name: string;
  /** Packages on top of the variant (debootstrap --include). */
  readonly packages: readonly string[];
  /** debootstrap --variant; minbase is the smallest that still has apt and dpkg. */
  readonly variant?: 'minbase' | 'buildd';
  /** Removes docs, man pages, locales and apt's lists from the result (smaller images). */
  readonly slim?: boolean;
  readonly progress?: (line: string) => void;
}

/** Bump when the way root filesystems are made changes, so old tarballs are not reused. */
const RECIPE = '1';

/** The tarball of a root filesystem made by debootstrap (cached: built once per spec). */
export async function ensureDebianRootfs(spec: DebianRootfsSpec): Promise<string> {
  const variant = spec.variant ?? 'minbase';
  const packages = [...spec.packages].sort();
  const digest = digestOf([RECIPE, DEBIAN_SUITE, variant, String(spec.slim ?? false), ...packages]);
  const dir = imageCacheDir('rootfs');
  const tarball = path.join(dir, `debian-${DEBIAN_SUITE}-${spec.name}-${digest}.tar`);
  if (await exists(tarball)) return tarball;

  await ensureDebootstrap();
  await mkdir(dir, { recursive: true });
  const target = await mkdtemp(path.join(dir, `${spec.name}.building-`));
  try {
    const started = Date.now();
    spec.progress?.(`debootstrap ${DEBIAN_SUITE} (${variant}) + ${packages.join(', ') || 'nothing'}`);
    const args = [`--variant=${variant}`, ...(packages.length ? [`--include=${packages.join(',')}`] : [])];
    const mirror = await debianMirror();
    await runCommand('debootstrap', [...args, DEBIAN_SUITE, target, ...(mirror ? [mirror] : [])]);
    if (spec.slim) await slim(target);
    await runCommand('tar', ['--numeric-owner', '-C', target, '-cf', `${tarball}.partial`, '.']);
    await rename(`${tarball}.partial`, tarball);
    spec.progress?.(`root filesystem ${spec.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return tarball;
  } finally {
    await rm(target, { recursive: true, force: true });
    await rm(`${tarball}.partial`, { force: true });
  }
}

/** Imports a root filesystem tarball as an image (docker import), with Dockerfile `changes`. */
export async function importRootfs(tarball: string, tag: string, changes: readonly string[]): Promise<void> {
  await docker(['import', ...changes.flatMap((c) => ['--change', c]), tarball, tag]);
}

async function slim(root: string): Promise<void> {
  for (const sub of [
    'usr/share/doc',
    'usr/share/man',
    'usr/share/info',
    'usr/share/locale',
    'var/lib/apt/lists',
    'var/cache/apt',
    'var/log',
  ]) {
    await rm(path.join(root, sub), { recursive: true, force: true });
    await mkdir(path.join(root, sub), { recursive: true });
  }
}

/** The mirror this machine's apt uses (so a machine behind its own mirror keeps using it). */
async function debianMirror(): Promise<string | undefined> {
  if (process.env.WASMFLEET_DEBIAN_MIRROR) return process.env.WASMFLEET_DEBIAN_MIRROR;
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const deb822 = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text);
    if (deb822?.[1]) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+/m.exec(text);
    if (oneLine?.[1]) return oneLine[1];
  }
  return undefined;
}

async function ensureDebootstrap(): Promise<void> {
  if (await exists('/usr/sbin/debootstrap')) return;
  await runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  }).catch((cause: unknown) => {
    throw new Error(
      'debootstrap is needed to build images here; install it (apt-get install debootstrap) and retry',
      { cause },
    );
  });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
