// SPDX-License-Identifier: Apache-2.0
// The rolldown plugins both of the CLI's bundles use (cli/scripts/build.ts: the ES modules a call
// loads; cli/scripts/snapshot.ts: the script its startup snapshot is made from).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'rolldown';
import { CLI_ROOT, REPO_ROOT } from '../bin/bundle.js';

/**
 * Modules that only declare things: @kubernetes/client-node's index pulls in ~740 generated
 * model classes (and their serializer's table of all of them) that the CLI never names, and the
 * api's wire module compiles its validators when it is imported. Declared free of side effects,
 * the bundle keeps only what a command uses. Other modules follow their package.json's
 * sideEffects (local-stack declares none).
 */
const PURE_MODULES = [
  `${path.sep}node_modules${path.sep}@kubernetes${path.sep}client-node${path.sep}`,
  `${REPO_ROOT}${path.sep}api${path.sep}src${path.sep}`,
];
/**
 * Loaded from node_modules at run time, not bundled: the components runtime loads its own, and
 * oclif requires typescript (8 MB) only to read a tsconfig.json in development mode.
 */
export const NOT_BUNDLED = [/^@bytecodealliance\//, /^typescript$/];

export const treeshake = {
  moduleSideEffects: (id: string): boolean | undefined =>
    PURE_MODULES.some((p) => id.includes(p)) ? false : undefined,
};

/**
 * Our modules find files beside their sources (the agent's program, the CRDs, the Go wrapper
 * modules, the example workloads) through import.meta.url and import.meta.dirname; in the
 * bundle those name the source file's location still.
 */
export function sourceLocations(): Plugin {
  return {
    name: 'source-locations',
    transform(code, id) {
      if (id.startsWith('\0') || id.includes(`${path.sep}node_modules${path.sep}`)) return null;
      if (!code.includes('import.meta.url') && !code.includes('import.meta.dirname')) return null;
      return {
        code: code
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(id).href))
          .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(id))),
      };
    },
  };
}

/**
 * cli/src/printer-columns.ts as the values it re-exports: the api module that defines them also
 * builds every CRD schema (typebox), which cost each `get` ~17 ms of CPU when it ran in the bundle.
 */
export async function printerColumnsAsValues(): Promise<Plugin> {
  const file = path.join(CLI_ROOT, 'src/printer-columns.ts');
  const api = await import('@wasmfleet/api');
  const code = [
    `export const EDGE_NODE_COLUMNS = ${JSON.stringify(api.EDGE_NODE_COLUMNS)};`,
    `export const WASM_FUNCTION_COLUMNS = ${JSON.stringify(api.WASM_FUNCTION_COLUMNS)};`,
  ].join('\n');
  return {
    name: 'printer-columns-as-values',
    load: (id) => (id === file ? { code, moduleType: 'js' } : null),
  };
}
