// SPDX-License-Identifier: Apache-2.0
// The CLI's V8 startup snapshot (docs/adr/0040), made by cli/scripts/build.ts in each build:
// cli/bin/snapshot-main.ts bundled into one CommonJS script (snapshot.cjs: Node snapshots one
// script, not ES modules), then `node --build-snapshot` on it for the Node that runs the build.
// Another Node makes its own on its first call (cli/bin/bundle.js, snapshotBlob).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rolldown, type Plugin } from 'rolldown';
import { CLI_ROOT, REPO_ROOT, SNAPSHOT_BLOB, SNAPSHOT_SCRIPT, buildSnapshotBlob } from '../bin/bundle.js';
import { NOT_BUNDLED, printerColumnsAsValues, sourceLocations, treeshake } from './bundle-plugins.ts';
import { lazyModules } from './lazy-modules-plugin.ts';

const ENTRY = path.join(CLI_ROOT, 'bin/snapshot-main.ts');
/** The snapshot's own files: a change to any of them makes a new build. */
export const SNAPSHOT_INPUTS = [
  ENTRY,
  path.join(CLI_ROOT, 'bin/snapshot-audit.ts'),
  path.join(CLI_ROOT, 'bin/snapshot-warm-up.ts'),
  path.join(CLI_ROOT, 'bin/snapshot-warm-call.ts'),
  path.join(CLI_ROOT, 'scripts/snapshot.ts'),
  path.join(CLI_ROOT, 'scripts/lazy-modules-plugin.ts'),
];

/**
 * Built-ins that can be part of a snapshot (Node's list, lib/internal/main/mksnapshot.js); any
 * other (http, https, tls, net, child_process, tty, worker_threads…) is loaded at its first use.
 */
const SNAPSHOT_BUILTINS = new Set([
  'assert',
  'assert/strict',
  'buffer',
  'console',
  'constants',
  'crypto',
  'events',
  'fs',
  'fs/promises',
  'os',
  'path',
  'path/posix',
  'path/win32',
  'process',
  'querystring',
  'stream',
  'stream/promises',
  'string_decoder',
  'timers',
  'timers/promises',
  'url',
  'util',
  'util/types',
  'v8',
  'zlib',
]);

const NODE_MODULES = path.join(REPO_ROOT, 'node_modules');
/**
 * Modules that read the terminal or the environment when they load (snapshot-audit.ts finds
 * them): loaded at their first use, so that they read the call's, not the build's.
 */
const LAZY_FILES = [
  'ansis/index.js', // colour level: NO_COLOR, FORCE_COLOR, TERM, whether stdout is a terminal
  'supports-color/index.js', // the same, for debug and oclif
  'debug/src/index.js', // DEBUG
  '@oclif/core/lib/screen.js', // the terminal's width, for help
  '@oclif/core/lib/ux/index.js', // spinner or plain progress, by whether stderr is a terminal
  'tinyglobby/dist/index.cjs', // TINYGLOBBY_DEBUG
].map((file) => path.join(NODE_MODULES, file));

/**
 * What the commands it holds load only in rarer cases — client-node (credentials only it knows)
 * and the MQTT client (a broker to read devices' status from): not in the snapshot, whose every
 * megabyte costs each call ~5 ms to map; importing one hands the call to the launcher
 * (snapshot-main.ts, handOver), which these commands reach before they print anything.
 */
const HANDED_OVER = ['src/kube/client-node.ts', 'src/broker/connect.ts', 'src/broker/retained-status.ts'].map(
  (f) => path.join(CLI_ROOT, f),
);
/** Only declarations as far as the commands it holds go (the api's validators are built from them). */
const SNAPSHOT_PURE = [`${path.sep}node_modules${path.sep}typebox${path.sep}`];

/**
 * Writes snapshot.cjs into build `dir` and the snapshot of it for this Node; returns a line for
 * the build's summary. A snapshot that cannot be made leaves `<blob>.failed` with the reason, and
 * calls run from the bundle as before.
 */
export async function buildSnapshot(dir: string, buildId: string): Promise<string> {
  const script = path.join(dir, SNAPSHOT_SCRIPT);
  await bundleScript(script);
  const blob = path.join(dir, SNAPSHOT_BLOB);
  if (buildSnapshotBlob(script, buildId, blob)) return `startup snapshot ${SNAPSHOT_BLOB}`;
  const why = await readFile(`${blob}.failed`, 'utf8');
  process.stderr.write(`warning: no startup snapshot (calls run from the bundle): ${why}`);
  return 'no startup snapshot (see the warning above)';
}

async function bundleScript(file: string): Promise<void> {
  const build = await rolldown({
    input: ENTRY,
    platform: 'node',
    external: NOT_BUNDLED,
    treeshake: {
      moduleSideEffects: (id: string) =>
        SNAPSHOT_PURE.some((p) => id.includes(p)) ? false : treeshake.moduleSideEffects(id),
    },
    plugins: [
      rewrites(),
      handedOver(),
      sourceLocations(),
      await printerColumnsAsValues(),
      lazyModules({ builtins: (name) => !SNAPSHOT_BUILTINS.has(name), files: LAZY_FILES }),
    ],
    logLevel: 'warn',
  });
  try {
    // Minified: V8 keeps the script's text in the heap (a function not compiled yet is compiled
    // from it), and every call reads that heap back: 1.14 → 0.62 MB of text, ~5 ms of CPU a call
    // (docs/adr/0056). Names kept: oclif and error messages show class and function names.
    await build.write({ file, format: 'cjs', codeSplitting: false, minify: true, keepNames: true });
  } finally {
    await build.close();
  }
  // V8 keeps a script with any non-ASCII character as two bytes a character: escaped, the
  // snapshot keeps it as one.
  const text = await readFile(file, 'utf8');
  await writeFile(
    file,
    // Each UTF-16 unit of a character outside ASCII, as \uXXXX (two for one beyond the BMP).
    text.replace(/[^\p{ASCII}]/gu, (c) =>
      Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(
        '',
      ),
    ),
  );
}

/** A dynamic import of a HANDED_OVER module becomes a call of the snapshot's handOver(). */
function handedOver(): Plugin {
  const PREFIX = '\0handed-over:';
  return {
    name: 'handed-over',
    async resolveId(source, importer, extra) {
      if (extra.kind !== 'dynamic-import') return null;
      const resolved = await this.resolve(source, importer, { kind: extra.kind, skipSelf: true });
      return resolved && HANDED_OVER.includes(resolved.id) ? `${PREFIX}${resolved.id}` : null;
    },
    load: (id) =>
      id.startsWith(PREFIX)
        ? { code: `globalThis[Symbol.for('wasmfleet.cli.handOver')]();\nexport {};\n`, moduleType: 'js' }
        : null,
  };
}

/**
 * Rewrites, at bundle time, what a module does as it loads and the call then pays for (docs/adr/0046):
 * - oclif's parser picks its debug function by CLI_FLAGS_DEBUG as it loads, so it had to load
 *   from disk at every call (~3 ms); here it reads CLI_FLAGS_DEBUG when it logs, and the parser
 *   is kept in the snapshot.
 * - oclif's platform check (wsl-utils, powershell-utils) promisifies child_process.execFile as it
 *   loads, which loads child_process at every call (~2 ms) though Linux never runs PowerShell;
 *   here it is promisified at its first call (the same function then).
 * And what oclif's help does at every call that gives the same text for less (docs/adr/0053):
 * - it renders every summary, description and example of the help it prints as an EJS template,
 *   and EJS compiles each one into a new function (`new Function`: ~30 compiles for the root
 *   help, none kept by the snapshot); a text with neither `<%` nor `%>` has no tag and EJS gives
 *   it back unchanged, so such a text is given back without EJS, and one whose only tags are
 *   `<%= config.bin %>` or `<%= command.id %>` is filled in as EJS fills it in
 *   (cli/src/help-template.ts, set by snapshot-main.ts; cli/test/help-render.test.ts; ADR 0058);
 * - the topics that have subtopics are found by reading `config.topics`, which builds a new
 *   array, once per pair of topics; here it is read once.
 * And oclif's Config.load is done twice for every command it runs: Command.run "reloads" the
 * Config it is given (for a command built against another @oclif/core than the CLI's; the
 * snapshot holds one), loading every setting again and `debug` from disk for its logger. Here a
 * Config of this same @oclif/core is used as it is.
 * And Config.load reads the user's theme.json with fs/promises, the only file a reading
 * call reads asynchronously: its first use starts libuv's four worker threads. Here it is read
 * synchronously, with the same result (undefined when the file is missing or not JSON).
 * The build fails if a text is not found, so a dependency update that changes it is noticed
 * (snapshot-audit.ts would name an environment read anyway).
 */
const REWRITES: readonly { file: string; from: RegExp; to: string }[] = [
  {
    file: '@oclif/core/lib/config/config.js',
    from: /static async load\(opts = module\.filename \|\| __dirname\) \{\n/,
    to: 'static async load(opts = module.filename || __dirname) {\n        if (isConfig(opts) && opts._base === BASE) return opts;\n',
  },
  {
    file: '@oclif/core/lib/config/config.js',
    from: /\(0, fs_1\.safeReadJson\)\(userThemeFile\)/,
    to: "(() => { try { return JSON.parse(require('node:fs').readFileSync(userThemeFile, 'utf8')); } catch {} })()",
  },
  {
    file: '@oclif/core/lib/help/util.js',
    from: /function render\(t\) \{\s*return ejs_1\.default\.render\(t, context\);\s*\}/,
    to: "function render(t) { return globalThis[Symbol.for('wasmfleet.cli.renderHelpText')](t, context) ?? ejs_1.default.render(t, context); }",
  },
  {
    file: '@oclif/core/lib/help/index.js',
    from: /get _topics\(\) \{\s*return this\.config\.topics\.filter\(\(topic\) => \{\s*\/\/ it is assumed a topic has a child if it has children\s*const hasChild = this\.config\.topics\.some\(/,
    to: 'get _topics() { const topics = this.config.topics; return topics.filter((topic) => { const hasChild = topics.some(',
  },
  {
    file: '@oclif/core/lib/parser/parse.js',
    from: /process\.env\.CLI_FLAGS_DEBUG === '1'\s*\?\s*\(0, logger_1\.makeDebug\)\('parser'\)\s*:\s*\(\) => \{\s*\/\/ noop\s*\}/,
    to: "(...args) => { if (process.env.CLI_FLAGS_DEBUG === '1') (0, logger_1.makeDebug)('parser')(...args); }",
  },
  ...['powershell-utils/index.js', 'wsl-utils/index.js'].map((file) => ({
    file,
    from: /const execFile = promisify\(childProcess\.execFile\);/,
    to: 'const execFile = (...args) => promisify(childProcess.execFile)(...args);',
  })),
];

function rewrites(): Plugin {
  const files = new Set(REWRITES.map((r) => path.join(NODE_MODULES, r.file)));
  return {
    name: 'rewrites',
    transform(code, id) {
      if (!files.has(id)) return null;
      let rewritten = code;
      for (const rewrite of REWRITES.filter((r) => path.join(NODE_MODULES, r.file) === id)) {
        if (!rewrite.from.test(rewritten))
          throw new Error(`${id}: no longer reads as ${String(rewrite.from)}`);
        rewritten = rewritten.replace(rewrite.from, () => rewrite.to);
      }
      return { code: rewritten };
    },
  };
}
