// SPDX-License-Identifier: Apache-2.0
// Where the CLI's bundle lives, and building it when it is missing or stale (docs/adr/0027).
// The CLI runs from one rolldown bundle of its sources and packages, one entry per command, so a
// call loads only the command it runs, from a few files, with no type stripping. A build is
// cli/dist/<id>/; cli/dist/latest.json names the newest and lists every file it was made from
// with its size and mtime. Checking those (a few hundred stat calls, ~2 ms) is how a launcher
// knows the build is current without reading any source; a changed source rebuilds on the spot
// (~2-4 s), so nobody has to remember a build step.
// Plain JavaScript on purpose: the launcher that imports this must not load any .ts file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(CLI_ROOT, '..');
export const DIST_ROOT = path.join(CLI_ROOT, 'dist');
export const LATEST = path.join(DIST_ROOT, 'latest.json');
export const BUILD_SCRIPT = path.join(CLI_ROOT, 'scripts/build.ts');
/** The bundle's entry: runs oclif with the bundle's own package.json and manifest. */
export const MAIN = 'main.js';

/** The directory of the current build, or undefined when there is none or a source changed. */
export function currentBundle() {
  let latest;
  try {
    latest = JSON.parse(readFileSync(LATEST, 'utf8'));
  } catch {
    return undefined;
  }
  for (const [file, size, mtimeMs] of latest.inputs) {
    let stat;
    try {
      stat = statSync(path.join(REPO_ROOT, file));
    } catch {
      return undefined;
    }
    if (stat.size !== size || stat.mtimeMs !== mtimeMs) return undefined;
  }
  const dir = path.join(DIST_ROOT, latest.id);
  return existsSync(path.join(dir, MAIN)) ? dir : undefined;
}

/**
 * The current bundle, built first when missing or stale; undefined when it cannot be built
 * (no rolldown, a read-only tree), and the caller runs the sources instead.
 */
export function ensureBundle() {
  const dir = currentBundle();
  if (dir) return dir;
  // Loaded only here: a call whose bundle is current pays nothing for it.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const built = spawnSync(process.execPath, [BUILD_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 180_000,
  });
  if (built.status !== 0 && process.env.WASMFLEET_CLI_DEBUG) process.stderr.write(built.stderr);
  return currentBundle();
}
