// SPDX-License-Identifier: Apache-2.0
// Which file a worker thread starts from. A worker that loads .ts files pulls in Node's
// type-stripping machinery: ~12 MB for the first worker, ~5 MB for each further one, on top of
// the ~9 MB a live worker thread costs anyway (docs/benchmarks.md, "Agent pipeline"). So workers
// start from the agent's compiled JavaScript (agent/bin/compiled.js, docs/adr/0017): beside the
// caller when the agent itself runs compiled, else the build of the current sources, made on the
// spot when missing. If it cannot be built (no typescript package, a read-only tree) the worker
// starts from the .ts sources, with a warning, and works the same.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO_ROOT, ensureCompiled } from '../../../bin/compiled.js';

/** The build of the current sources, looked up once per process (null: it cannot be built). */
let compiled: string | null | undefined;

/**
 * The URL to start a worker from for the module `name` (no extension) beside `base`, the
 * caller's import.meta.url: compiled JavaScript whenever there is some.
 */
export function workerModule(base: string, name: string): URL {
  // Already running as compiled JavaScript: the worker's module sits beside the caller.
  if (base.endsWith('.js')) return new URL(`./${name}.js`, base);
  const source = fileURLToPath(new URL(`./${name}.ts`, base));
  compiled ??= ensureCompiled() ?? null;
  if (compiled !== null) {
    return pathToFileURL(path.join(compiled, path.relative(REPO_ROOT, source).replace(/\.ts$/, '.js')));
  }
  process.emitWarning(
    'worker threads run from TypeScript sources (more memory per function); run `npm run build -w agent` to see why the build fails',
    { code: 'WASMFLEET_WORKER_TS' },
  );
  return pathToFileURL(source);
}

let chosen: URL | undefined;

/** Where a core-module function worker starts. */
export function workerEntry(): URL {
  chosen ??= workerModule(import.meta.url, 'worker-main');
  return chosen;
}
