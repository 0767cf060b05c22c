// SPDX-License-Identifier: Apache-2.0
// Compiles the agent (agent/src, agent/bin) and what it imports from the api (api/src) to plain
// JavaScript in agent/dist/<build id>/, laid out like the repository, so the agent's processes and
// function workers run without Node's type stripping (docs/adr/0017). Imports of @wasmfleet/api
// become relative imports of the compiled api. The main thread then runs one bundle of that tree
// and its packages (agent/bundle/, made by rolldown): loading ~900 module files (typebox alone
// has 709) cost the idle agent 15 MB of RSS. Function workers keep the per-file tree. agent/bin/wasmfleet-agent.js and the workers run
// it once it exists and build it when it does not (agent/bin/compiled.js), so this rarely needs
// running by hand:
//   npm run build -w agent
import { cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { rolldown, type Plugin } from 'rolldown';
import ts from 'typescript';
import {
  BUNDLE_ENTRY,
  COPIED_FILES,
  DIST_ROOT,
  REPO_ROOT,
  buildId,
  compiledDir,
  sourceFiles,
} from '../bin/compiled.js';

/** Older builds are removed after this long (a running agent may still import from its own). */
const KEEP_OLD_BUILDS_MS = 24 * 3600_000;
/** A build takes seconds; a staging directory this old belongs to a build that was killed. */
const STAGING_ABANDONED_MS = 3600_000;
const API_ENTRY = 'api/src/index.js';
/** What the bundle starts from: the compiled program. */
const PROGRAM = 'agent/bin/wasmfleet-agent.js';
/** Loaded by the components runtime from node_modules when a component arrives, not bundled. */
const NOT_BUNDLED = [/^@bytecodealliance\//];
/**
 * mqtt.js transports that its connect() requires on every first connection, whatever the URL:
 * ws:// (the ws package, which loads http, https, tls and zlib), mqtts:// (node:tls) and the
 * SOCKS proxy (dns and assert). A device on plain mqtt:// paid several MB of RSS for them
 * (docs/adr/0019). In the bundle each loads on first use instead; the stand-in's names are the
 * module's exports.
 */
const LOAD_ON_FIRST_USE: Readonly<Record<string, readonly string[]>> = {
  'mqtt/build/lib/connect/ws.js': ['streamBuilder', 'browserStreamBuilder'],
  'mqtt/build/lib/connect/tls.js': ['default'],
  'mqtt/build/lib/connect/socks.js': ['default'],
};

const files = sourceFiles();
const id = buildId(files);
const target = compiledDir(id);
const staging = path.join(DIST_ROOT, `.tmp-${id}-${process.pid}`);
await rm(staging, { recursive: true, force: true });

for (const file of files) {
  const source = await readFile(path.join(REPO_ROOT, file), 'utf8');
  const { outputText, diagnostics } = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2024,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
      rewriteRelativeImportExtensions: true,
    },
  });
  const first = diagnostics?.[0];
  if (first) {
    throw new Error(`${file} does not compile: ${ts.flattenDiagnosticMessageText(first.messageText, '\n')}`);
  }
  const out = path.join(staging, file.replace(/\.ts$/, '.js'));
  const api = path.posix.relative(path.posix.dirname(file), API_ENTRY);
  const text = outputText.replace(/(['"])@wasmfleet\/api\1/g, `'${api}'`);
  if (/['"]@wasmfleet\//.test(text)) {
    throw new Error(
      `${file} imports a @wasmfleet package other than the api; teach agent/scripts/build.ts to compile it`,
    );
  }
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, text);
}
for (const file of COPIED_FILES) await cp(path.join(REPO_ROOT, file), path.join(staging, file));
await bundle(staging);

// Renamed in whole, so a concurrent agent never sees half a build; if another process finished
// the same build first, its copy is identical and this one is dropped.
try {
  await rename(staging, target);
} catch (error) {
  await rm(staging, { recursive: true, force: true });
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
    throw new Error(`could not move the build into ${target}`, { cause: error });
  }
}
for (const entry of await readdir(DIST_ROOT)) {
  const dir = path.join(DIST_ROOT, entry);
  if (dir === target) continue;
  const age = Date.now() - (await stat(dir)).mtimeMs;
  // A staging directory a killed build left behind; 'worker' is the layout before ADR 0017.
  const stale = entry.startsWith('.tmp-') ? age > STAGING_ABANDONED_MS : age > KEEP_OLD_BUILDS_MS;
  if (stale || entry === 'worker') await rm(dir, { recursive: true, force: true });
}
console.log(`built ${files.length} files into ${path.relative(process.cwd(), target)}`);

/**
 * Bundles the compiled program into <root>/agent/bundle/ (lazily loaded parts become chunks
 * beside it). Our modules' import.meta.url is rewritten to the URL of their per-file twin, so
 * worker modules, createRequire and compiled.js resolve exactly as they do unbundled.
 */
async function bundle(root: string): Promise<void> {
  const out = path.join(root, path.dirname(BUNDLE_ENTRY));
  const keepModuleUrls: Plugin = {
    name: 'keep-module-urls',
    transform(code, id) {
      if (id.startsWith('\0') || id.includes(`${path.sep}node_modules${path.sep}`)) return null;
      if (!code.includes('import.meta.url')) return null;
      const twin = path.relative(out, id).split(path.sep).join('/');
      return {
        code: code.replaceAll('import.meta.url', `new URL(${JSON.stringify(twin)}, import.meta.url).href`),
      };
    },
  };
  const build = await rolldown({
    input: path.join(root, PROGRAM),
    platform: 'node',
    external: NOT_BUNDLED,
    plugins: [keepModuleUrls, loadOnFirstUse(), builtinsWithoutEsmFacade(), quietDebug()],
    logLevel: 'warn',
  });
  try {
    await build.write({
      dir: out,
      format: 'esm',
      entryFileNames: path.basename(BUNDLE_ENTRY),
      chunkFileNames: '[name]-[hash].js',
    });
  } finally {
    await build.close();
  }
}

/**
 * Stands in for each LOAD_ON_FIRST_USE module with one whose exports are functions that require
 * the real module (still bundled, as a lazily run CommonJS wrapper) when first called.
 */
function loadOnFirstUse(): Plugin {
  const PREFIX = '\0load-on-first-use:';
  const unused = new Set(Object.keys(LOAD_ON_FIRST_USE));
  return {
    name: 'load-on-first-use',
    async resolveId(source, importer, extra) {
      if (importer === undefined || importer.startsWith(PREFIX)) return null;
      const resolved = await this.resolve(source, importer, { ...extra, skipSelf: true });
      if (!resolved || resolved.external) return null;
      const key = Object.keys(LOAD_ON_FIRST_USE).find((k) => resolved.id.endsWith(`node_modules/${k}`));
      return key === undefined ? null : `${PREFIX}${resolved.id}`;
    },
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const real = id.slice(PREFIX.length);
      const key = Object.keys(LOAD_ON_FIRST_USE).find((k) => real.endsWith(`node_modules/${k}`));
      if (key === undefined) return null;
      unused.delete(key);
      const names = LOAD_ON_FIRST_USE[key] ?? [];
      return [
        "'use strict';",
        'let real;',
        `const load = () => (real ??= require(${JSON.stringify(real)}));`,
        "Object.defineProperty(exports, '__esModule', { value: true });",
        ...names.map((name) => `exports.${name} = (...args) => load().${name}(...args);`),
        '',
      ].join('\n');
    },
    buildEnd() {
      // mqtt.js moved or renamed a transport: say so rather than quietly load it eagerly again.
      if (unused.size > 0) {
        throw new Error(
          `agent/scripts/build.ts: ${[...unused].join(', ')} not found in the bundle; update LOAD_ON_FIRST_USE for this mqtt.js`,
        );
      }
    },
  };
}

/**
 * `import { x } from 'node:util'` gets Node's ESM view of the builtin, which reads every export
 * up front and so runs the lazy ones: node:http's WebSocket loads undici (~12 MB of RSS),
 * node:util's and node:crypto's about 1 MB each (docs/adr/0019). Imports of builtins become
 * `process.getBuiltinModule()`, which hands over the module as it is; rolldown then reads each
 * named import where it is used.
 */
function builtinsWithoutEsmFacade(): Plugin {
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

/**
 * The `debug` package's loggers take their arguments as a rest parameter, so every call allocates
 * an array before it checks whether its namespace is on. mqtt-packet calls one several times per
 * packet, and that was 27 % of everything the agent allocated under a 16 B stream (a sampling heap
 * profile over 20,000 messages; docs/adr/0019). In the bundle, a logger whose namespace is off
 * when it is created is a function that does nothing. DEBUG works as before for namespaces named
 * when the agent starts; only `debug.enable()` at run time no longer reaches loggers made earlier,
 * and nothing in the agent calls it.
 */
function quietDebug(): Plugin {
  const STAND_IN = '\0quiet-debug';
  let real: string | undefined;
  return {
    name: 'quiet-debug',
    async resolveId(source, importer, extra) {
      if (source !== 'debug' || importer === STAND_IN) return null;
      const resolved = await this.resolve(source, importer, { ...extra, skipSelf: true });
      if (!resolved || resolved.external) return null;
      real = resolved.id;
      return STAND_IN;
    },
    load(id) {
      if (id !== STAND_IN || real === undefined) return null;
      return [
        "'use strict';",
        `const real = require(${JSON.stringify(real)});`,
        'function createDebug(namespace) {',
        '  const logger = real(namespace);',
        '  if (logger.enabled) return logger;',
        '  const off = () => {};',
        '  off.enabled = false;',
        '  off.namespace = namespace;',
        "  off.extend = (sub, delimiter = ':') => createDebug(`${namespace}${delimiter}${sub}`);",
        '  off.destroy = () => false;',
        '  off.log = () => {};',
        '  return off;',
        '}',
        'module.exports = Object.assign(createDebug, real, { default: createDebug });',
        '',
      ].join('\n');
    },
  };
}
