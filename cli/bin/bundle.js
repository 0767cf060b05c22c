// SPDX-License-Identifier: Apache-2.0
// Where the CLI's bundle lives, and building it when it is missing or stale (docs/adr/0027).
// The CLI runs from one rolldown bundle of its sources and packages, one entry per command, so a
// call loads only the command it runs, from a few files, with no type stripping. A build is
// cli/dist/<id>/; cli/dist/latest.json names the newest and lists every file it was made from
// with its size and mtime. Checking those (a few hundred stat calls, ~2 ms) is how a launcher
// knows the build is current without reading any source; a changed source rebuilds on the spot
// (~2-4 s), so nobody has to remember a build step.
// Plain JavaScript on purpose: the launcher that imports this must not load any .ts file.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
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
  // The inputs are normalised paths below the repository (cli/scripts/build.ts): joined by hand,
  // as path.join's normalising of ~260 paths was half of this check's time (docs/adr/0046).
  const root = `${REPO_ROOT}${path.sep}`;
  for (const [file, size, mtimeMs] of latest.inputs) {
    let stat;
    try {
      stat = statSync(root + file, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (stat === undefined || stat.size !== size || stat.mtimeMs !== mtimeMs) return undefined;
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

/**
 * Where a build's caches go (Node's compile cache, the startup snapshot): beside the build when
 * its folder is writable, else (a read-only install) ~/.cache/wasmfleet/cli/<build id>, like the
 * project's other caches ($WASMFLEET_CACHE_DIR or $XDG_CACHE_HOME/wasmfleet when set). Both are
 * keyed by the build's id, which is made from every input of the build.
 */
export function cacheDirs(dir) {
  const root =
    process.env.WASMFLEET_CACHE_DIR ||
    path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'wasmfleet');
  return [dir, path.join(root, 'cli', path.basename(dir))];
}

/** Whether this process may create files in `dir` (made if missing). */
export function writable(dir) {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The startup snapshot's file name. A snapshot only loads into the Node build that made it: the
 * same version and architecture, and (a distribution's Node may be built differently from the
 * project's) the same build configuration, whose hash is the last part.
 */
export const SNAPSHOT_BLOB = `snapshot-${process.version}-${process.arch}-${fnv1a(JSON.stringify(process.config))}.blob`;

/** 32-bit FNV-1a, hex: a short, stable name for a string (not a checksum of anything secret). */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
/** The script the snapshot is made from (cli/scripts/snapshot.ts writes it into each build). */
export const SNAPSHOT_SCRIPT = 'snapshot.cjs';

/**
 * The startup snapshot of build `dir` for this Node (docs/adr/0040), made on the spot when this
 * Node has none yet (~1-2 s, once); undefined when it cannot be made (the reason is kept beside
 * it, in <blob>.failed, so that later calls do not try again).
 */
export function snapshotBlob(dir) {
  const candidates = cacheDirs(dir).map((d) => path.join(d, SNAPSHOT_BLOB));
  for (const blob of candidates) {
    if (existsSync(blob)) return blob;
    if (existsSync(`${blob}.failed`)) return undefined;
  }
  if (!existsSync(path.join(dir, SNAPSHOT_SCRIPT))) return undefined;
  const blob = candidates.find((b) => writable(path.dirname(b)));
  if (!blob) return undefined;
  return buildSnapshotBlob(path.join(dir, SNAPSHOT_SCRIPT), path.basename(dir), blob) ? blob : undefined;
}

/** Runs `node --build-snapshot` on the script; writes the blob or `<blob>.failed`. True on success. */
export function buildSnapshotBlob(script, buildId, blob) {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const temporary = `${blob}.${process.pid}.tmp`;
  const built = spawnSync(process.execPath, ['--snapshot-blob', temporary, '--build-snapshot', script], {
    // The build's id and folder (the folder is a staging one while cli/scripts/build.ts runs).
    env: {
      ...process.env,
      WASMFLEET_CLI_SNAPSHOT_BUILD: buildId,
      WASMFLEET_CLI_SNAPSHOT_FROM: path.dirname(script),
    },
    encoding: 'utf8',
    // Not a pipe for stdout: oclif touches process.stdout as it loads, and a pipe's stdout is a
    // net.Socket, which the snapshot would keep (~200 kB of heap, read back by every call, whose
    // stdout is its own). Warnings come on stderr (docs/adr/0058).
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 120_000,
  });
  // Node warns, and carries on, when a built-in it cannot snapshot was loaded: that is a failure here.
  const problem =
    built.status !== 0
      ? `node --build-snapshot exited with ${built.status ?? built.signal}: ${built.stderr}`
      : /warning/i.test(built.stderr)
        ? built.stderr
        : undefined;
  if (problem === undefined) {
    renameSync(temporary, blob);
    return true;
  }
  writeFileSync(`${blob}.failed`, `${problem}\n`);
  process.getBuiltinModule('node:fs').rmSync(temporary, { force: true });
  return false;
}
