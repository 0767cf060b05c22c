#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The wasmfleet CLI as users run it: from its bundle (cli/bin/bundle.js, docs/adr/0027), built
// on the spot when a source changed, with Node's compile cache so that V8 does not compile the
// same code on every call. Falls back to the TypeScript sources (wasmfleet.ts) when the bundle
// cannot be built. Plain JavaScript on purpose: loading any .ts file here costs what the bundle saves.
import path from 'node:path';
import { enableCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MAIN, ensureBundle } from './bundle.js';

// A non-empty NO_COLOR wins over FORCE_COLOR (no-color.org); node and the colour libraries
// would let FORCE_COLOR win, and they decide when they load, so settle it before importing.
if ((process.env.NO_COLOR ?? '') !== '') delete process.env.FORCE_COLOR;

const dir = ensureBundle();
if (dir) {
  enableCompileCache(path.join(dir, '.compile-cache'));
  const { main } = await import(pathToFileURL(path.join(dir, MAIN)).href);
  await main(dir);
} else {
  process.emitWarning(
    'wasmfleet runs from its TypeScript sources (slower); run `node cli/scripts/build.ts` to see why the bundle fails',
    { code: 'WASMFLEET_CLI_TS' },
  );
  await import('./wasmfleet.ts');
}
