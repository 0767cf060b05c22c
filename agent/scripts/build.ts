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
    plugins: [keepModuleUrls],
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
