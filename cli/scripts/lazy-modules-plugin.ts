// SPDX-License-Identifier: Apache-2.0
// A rolldown plugin for the CLI's startup snapshot (docs/adr/0040): chosen modules are loaded on
// first use instead of when their importer is evaluated. Building the snapshot evaluates every
// module of the bundle once and saves the heap, so a module that reads the terminal or the
// environment when it loads (ansis's colour level, oclif's terminal width, debug's DEBUG) would
// keep what the build saw, and a Node built-in that cannot be snapshotted (https, tls,
// child_process) would be saved half set up. Such a module becomes a stand-in that loads the real
// one at the first property read or call, which happens at run time.
//
// The stand-in is a Proxy that knows the real module's export names and its `__esModule` flag
// without loading it (both read here, at bundle time), because interop helpers read them as soon
// as the importer is evaluated: `__importDefault` reads `__esModule`, `__toESM` lists the keys.
import { createRequire, isBuiltin } from 'node:module';
import type { Plugin } from 'rolldown';

const PREFIX = '\0lazy-module:';

export interface LazyModules {
  /** Built-ins loaded at their first use; the others are evaluated into the snapshot. */
  readonly builtins: (name: string) => boolean;
  /** Absolute paths of (CommonJS) files loaded at their first use. */
  readonly files: readonly string[];
}

export function lazyModules({ builtins, files }: LazyModules): Plugin {
  const lazyFiles = new Set(files);
  const require = createRequire(import.meta.url);
  return {
    name: 'lazy-modules',
    async resolveId(source, importer, extra) {
      // The stand-in's own require of the real module resolves normally.
      if (importer?.startsWith(PREFIX)) return null;
      if (isBuiltin(source)) {
        const name = source.replace(/^node:/, '');
        return builtins(name) ? `${PREFIX}node:${name}` : { id: `node:${name}`, external: true };
      }
      const resolved = await this.resolve(source, importer, { ...extra, skipSelf: true });
      if (!resolved || resolved.external || !lazyFiles.has(resolved.id)) return null;
      return `${PREFIX}${resolved.id}`;
    },
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const target = id.slice(PREFIX.length);
      const real = require(target) as unknown;
      // A built-in is taken as it is (not through the snapshot's require, which warns about it).
      const loader = isBuiltin(target) ? 'process.getBuiltinModule' : 'require';
      return { code: standIn(`${loader}(${JSON.stringify(target)})`, target, real), moduleType: 'js' };
    },
  };
}

/**
 * The stand-in's code: `load` is the expression that loads the real module. While the snapshot
 * runs its warm-up (cli/bin/snapshot-warm-up.ts sets this symbol), loading it is an error: the
 * real module would be kept in the snapshot with what it read at build time.
 */
function standIn(load: string, name: string, real: unknown): string {
  const keys =
    real !== null && (typeof real === 'object' || typeof real === 'function')
      ? Reflect.ownKeys(real).filter((k): k is string => typeof k === 'string')
      : [];
  const esModule = Boolean((real as { __esModule?: unknown } | null)?.__esModule);
  const callable = typeof real === 'function';
  const refusal = `${name} must not load while the startup snapshot warms up (cli/bin/snapshot-warm-up.ts): it would keep the build's terminal and environment`;
  return `let real;
const refuse = () => {
  throw new Error(${JSON.stringify(refusal)});
};
const load = () => (real ??= globalThis[Symbol.for('wasmfleet.cli.snapshot.warming')] ? refuse() : ${load});
const keys = ${JSON.stringify(keys.filter((k) => !(callable && ['prototype', 'length', 'name', 'arguments', 'caller'].includes(k))))};
module.exports = new Proxy(${callable ? 'function () {}' : '{}'}, {
  get: (_, key) => (key === '__esModule' ? ${esModule} : Reflect.get(load(), key)),
  set: (_, key, value) => Reflect.set(load(), key, value),
  has: (_, key) => Reflect.has(load(), key),
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
  ownKeys: (t) => [...new Set([...keys, ...Reflect.ownKeys(t)])],
  getOwnPropertyDescriptor: (t, key) =>
    Reflect.getOwnPropertyDescriptor(t, key) ??
    (keys.includes(key) ? { configurable: true, enumerable: true, get: () => Reflect.get(load(), key) } : undefined),
});
`;
}
