// SPDX-License-Identifier: Apache-2.0
// Where the agent's compiled JavaScript lives, and building it when it is missing or stale.
// Why: Node runs the .ts sources directly (ADR 0001), but every thread that meets TypeScript sets
// up Node's type stripping: +17 MB for the main thread, +5 to +12 MB per worker (docs/adr/0017).
// So the agent runs from JavaScript that agent/scripts/build.ts compiles into
// agent/dist/<build id>/ (git-ignored), where the id is a hash of every source it compiles. A
// changed source means a new id, so stale output is never run; the first start after a change
// builds it on the spot (about a second), so nobody has to remember `npm run build -w agent`.
// Plain JavaScript on purpose: the launcher that imports this must not load any .ts file.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_ROOT = path.join(REPO_ROOT, 'agent/dist');
/** Trees compiled, relative to the repository root: the agent and what it imports from the api. */
export const SOURCE_DIRS = ['agent/src', 'agent/bin', 'api/src'];
/** Its own text is part of the build id: a change to how we compile is a change of output. */
export const BUILD_SCRIPT = 'agent/scripts/build.ts';
/** The main thread's program as one bundle (with chunks beside it), inside a build. */
export const BUNDLE_ENTRY = 'agent/bundle/wasmfleet-agent.js';
/** Copied as they are (plain JavaScript the compiled tree imports). */
export const COPIED_FILES = ['agent/bin/compiled.js'];

/** Every .ts source the build compiles, relative to the repository root, sorted. */
export function sourceFiles() {
  const files = [];
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      files.push(path.relative(REPO_ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
    }
  }
  return files.sort();
}

/** A hash of the build script, the copied files and every source (names and contents). */
export function buildId(files = sourceFiles()) {
  const hash = createHash('sha256');
  for (const file of [BUILD_SCRIPT, ...COPIED_FILES, ...files]) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(REPO_ROOT, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** The directory a build of these sources lands in (complete once it exists: it is renamed in whole). */
export function compiledDir(id = buildId()) {
  return path.join(DIST_ROOT, id);
}

/**
 * The compiled tree of the current sources, built first when missing; undefined when it cannot
 * be built (no typescript package, a read-only tree), and the caller falls back to the sources.
 */
export function ensureCompiled() {
  let dir;
  try {
    dir = compiledDir();
  } catch {
    return undefined; // sources not readable: nothing to compare a build against
  }
  if (existsSync(dir)) return dir;
  // Loaded only here: an agent whose build exists should not carry child_process (docs/adr/0019).
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  spawnSync(process.execPath, [path.join(REPO_ROOT, BUILD_SCRIPT)], { stdio: 'ignore', timeout: 120_000 });
  return existsSync(dir) ? dir : undefined;
}
