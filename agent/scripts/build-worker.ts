// Compiles the function worker's sources to plain JavaScript in agent/dist/worker/ (git-ignored).
// Why: a worker thread that loads .ts files pulls in Node's type-stripping machinery, which
// costs ~12 MB for the first worker and ~5 MB for every further one (measured in
// docs/benchmarks.md, "Agent pipeline"); the rest of the agent still runs from .ts directly.
// Nobody has to remember to run this: worker-entry.ts runs it when the output is missing or
// stale (it checks a hash of every source), and falls back to the .ts entry if it cannot.
//   npm run build -w agent
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import {
  WORKER_DIST_DIR,
  WORKER_MANIFEST,
  WORKER_SOURCE_DIR,
  WORKER_SOURCES,
} from '../src/runtime/core/worker-entry.ts';

const staging = `${WORKER_DIST_DIR}.tmp-${process.pid}`;
await rm(staging, { recursive: true, force: true });
await mkdir(staging, { recursive: true });
const hashes: Record<string, string> = {};
for (const file of WORKER_SOURCES) {
  const source = await readFile(path.join(WORKER_SOURCE_DIR, file), 'utf8');
  hashes[file] = createHash('sha256').update(source).digest('hex');
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
  if (diagnostics?.length) {
    throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0]?.messageText ?? '', '\n')}`);
  }
  await writeFile(path.join(staging, file.replace(/\.ts$/, '.js')), outputText);
}
await writeFile(
  path.join(staging, path.basename(WORKER_MANIFEST)),
  JSON.stringify({ sources: hashes }, null, 2),
);
// Swap in whole, so a concurrent agent never sees half a build.
await rm(WORKER_DIST_DIR, { recursive: true, force: true });
await rename(staging, WORKER_DIST_DIR);
console.log(
  `built ${WORKER_SOURCES.length} worker files into ${path.relative(process.cwd(), WORKER_DIST_DIR)}`,
);
