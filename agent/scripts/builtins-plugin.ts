// SPDX-License-Identifier: Apache-2.0
// A rolldown plugin shared by the agent's and the CLI's bundles: Node built-ins imported as they
// are, not through Node's ESM view of them.
//
// `import { x } from 'node:util'` gets Node's ESM view of the builtin, which reads every export
// up front and so runs the lazy ones: node:http's WebSocket loads undici (~12 MB of RSS),
// node:util's and node:crypto's about 1 MB each (docs/adr/0019). Imports of builtins become
// `process.getBuiltinModule()`, which hands over the module as it is; rolldown then reads each
// named import where it is used.
import { isBuiltin } from 'node:module';
import type { Plugin } from 'rolldown';

export function builtinsWithoutEsmFacade(): Plugin {
  const PREFIX = '\0node-builtin:';
  return {
    name: 'builtins-without-esm-facade',
    resolveId(source, _importer, extra) {
      if (extra.kind !== 'import-statement' || !isBuiltin(source)) return null;
      // rolldown's own runtime imports createRequire from node:module to build this very require.
      if (source === 'node:module' || source === 'module') return null;
      return `${PREFIX}${source.replace(/^node:/, '')}`;
    },
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      return `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${id.slice(PREFIX.length)}`)});\n`;
    },
  };
}
