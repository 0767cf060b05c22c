#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The wasmfleet CLI as users run it: from its bundle (docs/adr/0027), built on the spot when a
// source changed. A command that only reads (get, describe, rollout status, help) starts from the
// bundle's V8 startup snapshot (docs/adr/0040): this process becomes `node --snapshot-blob …`
// (process.execve, same pid and arguments), where oclif and the command are already loaded. The
// others run here, with Node's compile cache so that V8 does not compile the same code on every
// call. Falls back to the TypeScript sources (wasmfleet.ts) when the bundle cannot be built.
// Plain JavaScript on purpose: loading any .ts file here costs what the bundle saves.
import path from 'node:path';
import { constants, enableCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MAIN, cacheDirs, ensureBundle, snapshotBlob, writable } from './bundle.js';

/** First words of the commands the snapshot holds (it hands any other back to this launcher). */
const SNAPSHOT_COMMANDS = new Set(['get', 'describe', 'rollout', 'help', '--help', '-h']);

// A non-empty NO_COLOR wins over FORCE_COLOR (no-color.org); node and the colour libraries
// would let FORCE_COLOR win, and they decide when they load, so settle it before importing.
if ((process.env.NO_COLOR ?? '') !== '') delete process.env.FORCE_COLOR;

const dir = ensureBundle();
if (dir) {
  startFromSnapshot(dir);
  enableCompileCacheFor(dir);
  const { main } = await import(pathToFileURL(path.join(dir, MAIN)).href);
  await main(dir);
} else {
  process.emitWarning(
    'wasmfleet runs from its TypeScript sources (slower); run `node cli/scripts/build.ts` to see why the bundle fails',
    { code: 'WASMFLEET_CLI_TS' },
  );
  await import('./wasmfleet.ts');
}

/**
 * Replaces this process with one started from the snapshot, when the command is one it holds.
 * Not when Node was given flags of its own (a debugger, say), nor without process.execve, nor
 * when the snapshot handed the call back (WASMFLEET_CLI_SNAPSHOT=off, which children do not inherit).
 */
function startFromSnapshot(dir) {
  const off = process.env.WASMFLEET_CLI_SNAPSHOT === 'off';
  delete process.env.WASMFLEET_CLI_SNAPSHOT;
  const args = process.argv.slice(2);
  if (off || process.execArgv.length > 0 || typeof process.execve !== 'function') return;
  if (args.length > 0 && !SNAPSHOT_COMMANDS.has(args[0])) return;
  const blob = snapshotBlob(dir);
  if (!blob) return;
  process.execve(process.execPath, [process.execPath, '--snapshot-blob', blob, '--', ...args], process.env);
}

/** Node's compile cache for this build, beside it or (read-only) in the user's cache. */
function enableCompileCacheFor(dir) {
  for (const cache of cacheDirs(dir).map((d) => path.join(d, '.compile-cache'))) {
    if (!writable(cache)) continue;
    if (enableCompileCache(cache).status !== constants.compileCacheStatus.FAILED) return;
  }
}
