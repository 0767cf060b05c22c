// SPDX-License-Identifier: Apache-2.0
// Builds function.js into build/__NAME__.wasm: jco componentize against wit/.
// It calls jco in-process because jco's WIT reader runs on preview2-shim, which starts with no
// preopened directories on Node (the CLI fails with "failed to get path metadata"): we add one.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const here = import.meta.dirname;
const require = createRequire(path.join(here, 'package.json'));
const jcoMain = require.resolve('@bytecodealliance/jco');
const jcoDir = jcoMain.slice(0, jcoMain.lastIndexOf(`${path.sep}dist${path.sep}`));
const transpile = createRequire(jcoMain).resolve('@bytecodealliance/jco-transpile');
const shim = await import(
  pathToFileURL(createRequire(transpile).resolve('@bytecodealliance/preview2-shim/filesystem')).href
);
shim._addPreopen('/', '/');
const { componentize } = await import(
  pathToFileURL(path.join(jcoDir, 'dist', 'cmd', 'componentize.js')).href
);
mkdirSync(path.join(here, 'build'), { recursive: true });
await componentize(path.join(here, 'function.js'), {
  wit: path.join(here, 'wit', 'wasmfleet-function.wit'),
  worldName: 'sensor-function',
  disable: ['all'],
  bundle: true,
  out: path.join(here, 'build', '__NAME__.wasm'),
});
