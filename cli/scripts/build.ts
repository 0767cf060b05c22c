// SPDX-License-Identifier: Apache-2.0
// Bundles the CLI with rolldown into cli/dist/<id>/ (docs/adr/0020): one entry per command (the
// ids and files of cli/src/commands.ts), shared code in chunks beside them, oclif's manifest of
// every command's flags and help, and cli/dist/latest.json listing every file the build was made
// from. cli/bin/wasmfleet.js runs the build when latest.json is stale, so this rarely needs
// running by hand:
//   node cli/scripts/build.ts
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinsWithoutEsmFacade } from '../../agent/scripts/builtins-plugin.ts';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rolldown, type OutputChunk } from 'rolldown';
import { NOT_BUNDLED, printerColumnsAsValues, sourceLocations, treeshake } from './bundle-plugins.ts';
import { buildSnapshot, SNAPSHOT_INPUTS } from './snapshot.ts';
import {
  BUILD_SCRIPT,
  CLI_ROOT,
  DIST_ROOT,
  LATEST,
  MAIN,
  REPO_ROOT,
  SNAPSHOT_BLOB,
  currentBundle,
} from '../bin/bundle.js';

/** Older builds are removed after this long (a running command may still load chunks from its own). */
const KEEP_OLD_BUILDS_MS = 24 * 3600_000;
const COMMANDS_FILE = path.join(CLI_ROOT, 'src/commands.ts');
/** cli/package.json: its oclif settings, hooks included (one bundle entry each). */
const PJSON = JSON.parse(await readFile(path.join(CLI_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  oclif: { hooks?: Record<string, string> } & Record<string, unknown>;
};
const HOOKS = PJSON.oclif.hooks ?? {};
/** The workspaces whose sources the CLI bundles (a module from elsewhere is never taken as current). */
const SOURCE_WORKSPACES = [
  'api',
  'oci',
  'cli',
  'agent',
  'operator',
  'local-stack',
  'workloads',
  'test-support',
];
/** Besides the bundled modules, what decides the output (npm's record of node_modules covers every package). */
const EXTRA_INPUTS = [
  BUILD_SCRIPT,
  path.join(REPO_ROOT, 'agent/scripts/builtins-plugin.ts'),
  path.join(CLI_ROOT, 'scripts/bundle-plugins.ts'),
  ...SNAPSHOT_INPUTS,
  COMMANDS_FILE,
  path.join(CLI_ROOT, 'package.json'),
  path.join(CLI_ROOT, 'bin/bundle.js'),
  path.join(REPO_ROOT, 'node_modules/.package-lock.json'),
  // printerColumnsAsValues() reads the columns from here at build time.
  path.join(REPO_ROOT, 'api/src/resources/crd.ts'),
];
if (process.argv.includes('--if-stale') && currentBundle()) process.exit(0);
const staging = path.join(DIST_ROOT, `.tmp-${process.pid}`);
await rm(staging, { recursive: true, force: true });
// Sizes and mtimes as they were BEFORE the sources are read: a file saved during the build then
// differs from its record, and the next call rebuilds (recorded after, it would look current).
const before = await stampSources();
const commands = await commandFiles();
const chunks = await bundle(commands, staging);
await writePackageJson(staging);
const count = await writeManifestOf(staging);
const inputs = inputsOf(chunks, before);
const id = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16);
const snapshotNote = await buildSnapshot(staging, id);
await publish(staging, id, inputs);
console.log(
  `bundled ${count} commands from ${inputs.length} files into ${path.relative(process.cwd(), path.join(DIST_ROOT, id))}; ${snapshotNote}`,
);

/** Command id → source file, read from the imports and the COMMANDS table of cli/src/commands.ts. */
async function commandFiles(): Promise<Map<string, string>> {
  const text = await readFile(COMMANDS_FILE, 'utf8');
  const files = new Map<string, string>();
  for (const [, name, file] of text.matchAll(/^import (\w+) from '(\.\/commands\/[^']+)';$/gm)) {
    if (name !== undefined && file !== undefined) files.set(name, path.join(CLI_ROOT, 'src', file));
  }
  const commands = new Map<string, string>();
  for (const [, id, name] of text.matchAll(/^\s+'?([\w:-]+)'?: (\w+),$/gm)) {
    const file = name === undefined ? undefined : files.get(name);
    if (id === undefined || file === undefined)
      throw new Error(`${COMMANDS_FILE}: no import for command ${id}`);
    commands.set(id, file);
  }
  if (commands.size === 0) throw new Error(`${COMMANDS_FILE}: found no commands`);
  return commands;
}

/** Where oclif's "pattern" strategy looks for command `id` (`a:b` → commands/a/b.js). */
function entryName(id: string, file: string): string {
  const base = `commands/${id.replaceAll(':', '/')}`;
  return path.basename(file) === 'index.ts' ? `${base}/index` : base;
}

async function bundle(commands: Map<string, string>, out: string): Promise<OutputChunk[]> {
  const input: Record<string, string> = { main: path.join(CLI_ROOT, 'bin/bundle-main.ts') };
  for (const [event, file] of Object.entries(HOOKS)) input[`hooks/${event}`] = path.join(CLI_ROOT, file);
  for (const [id, file] of commands) input[entryName(id, file)] = file;
  const build = await rolldown({
    input,
    platform: 'node',
    external: NOT_BUNDLED,
    treeshake,
    plugins: [sourceLocations(), builtinsWithoutEsmFacade(), await printerColumnsAsValues()],
    logLevel: 'warn',
  });
  try {
    const { output } = await build.write({
      dir: out,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
    });
    return output.filter((o): o is OutputChunk => o.type === 'chunk');
  } finally {
    await build.close();
  }
}

/** The bundle's own package.json: cli/package.json's oclif settings, commands and hooks one file each, no plugins. */
async function writePackageJson(root: string): Promise<void> {
  const hooks = Object.fromEntries(Object.keys(HOOKS).map((event) => [event, `./hooks/${event}.js`]));
  const oclif = { ...PJSON.oclif, commands: './commands', hooks, plugins: [] };
  await writeFile(
    path.join(root, 'package.json'),
    JSON.stringify(
      { name: PJSON.name, version: PJSON.version, type: 'module', private: true, oclif },
      null,
      2,
    ),
  );
}

/** Runs the fresh bundle once to have oclif write the manifest of its commands. */
async function writeManifestOf(root: string): Promise<number> {
  const { writeManifest } = (await import(pathToFileURL(path.join(root, MAIN)).href)) as {
    writeManifest: (root: string) => Promise<number>;
  };
  return writeManifest(root);
}

type Stamp = readonly [size: number, mtimeMs: number];

/** Size and mtime of every file the bundle may read from the repository (outside node_modules). */
async function stampSources(): Promise<Map<string, Stamp>> {
  const stamps = new Map<string, Stamp>();
  const add = async (file: string): Promise<void> => {
    const { size, mtimeMs } = await stat(file);
    stamps.set(file, [size, mtimeMs]);
  };
  for (const workspace of SOURCE_WORKSPACES) {
    const entries = await readdir(path.join(REPO_ROOT, workspace), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      const file = path.join(entry.parentPath, entry.name);
      if (entry.isFile() && !/[\\/](node_modules|dist|test)[\\/]/.test(file)) await add(file);
    }
  }
  for (const file of EXTRA_INPUTS) await add(file);
  return stamps;
}

/** [file relative to the repository, size, mtimeMs] of every repository file in the bundle, sorted. */
function inputsOf(
  chunks: readonly OutputChunk[],
  before: ReadonlyMap<string, Stamp>,
): [string, number, number][] {
  const files = new Set(EXTRA_INPUTS);
  for (const chunk of chunks) {
    for (const id of chunk.moduleIds) {
      if (path.isAbsolute(id) && !id.includes(`${path.sep}node_modules${path.sep}`)) files.add(id);
    }
  }
  const inputs: [string, number, number][] = [];
  for (const file of [...files].sort()) {
    // A module outside the snapshot is recorded as unreadable (-1), so it never looks current.
    const [size, mtimeMs] = before.get(file) ?? [-1, -1];
    inputs.push([path.relative(REPO_ROOT, file), size, mtimeMs]);
  }
  return inputs;
}

/**
 * cli/dist/<blob> is the newest build's snapshot for this Node, at a path that does not change,
 * so that .tools/bin/wasmfleet can start from it without the launcher (the snapshot itself checks
 * that its build is still the current one). A hard link, replaced by a rename: never half-written.
 */
async function pointAtSnapshot(build: string): Promise<void> {
  const blob = path.join(build, SNAPSHOT_BLOB);
  if (!existsSync(blob)) return;
  const next = path.join(DIST_ROOT, `${SNAPSHOT_BLOB}.${process.pid}`);
  await rm(next, { force: true });
  await link(blob, next);
  await rename(next, path.join(DIST_ROOT, SNAPSHOT_BLOB));
  // A rename onto another link to the same file does nothing (POSIX), leaving `next` behind.
  await rm(next, { force: true });
}

/** Renames the build into place, then points latest.json at it (a rename too: never half-written). */
async function publish(dir: string, id: string, inputs: readonly [string, number, number][]): Promise<void> {
  const target = path.join(DIST_ROOT, id);
  try {
    await rename(dir, target);
  } catch (error) {
    // Another process finished the same build first: its copy is identical.
    await rm(dir, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST')
      throw new Error(`could not move the build into ${target}`, { cause: error });
  }
  const next = `${LATEST}.${process.pid}`;
  await writeFile(next, JSON.stringify({ id, inputs }));
  await rename(next, LATEST);
  await pointAtSnapshot(target);
  for (const entry of await readdir(DIST_ROOT)) {
    const old = path.join(DIST_ROOT, entry);
    if (old === target || entry.startsWith('latest.json') || /^snapshot-.*\.blob$/.test(entry)) continue;
    const age = Date.now() - (await stat(old)).mtimeMs;
    if (age > KEEP_OLD_BUILDS_MS) await rm(old, { recursive: true, force: true });
  }
  await mkdir(DIST_ROOT, { recursive: true });
}
