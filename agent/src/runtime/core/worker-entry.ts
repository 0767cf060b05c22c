// Which file a function worker starts from. A worker that loads .ts files pulls in Node's
// type-stripping machinery: ~12 MB for the first worker, ~5 MB for each further one, on top of
// the ~4 MB a worker thread costs anyway (docs/benchmarks.md, "Agent pipeline"). So workers start
// from the agent's compiled JavaScript (agent/bin/compiled.js, docs/adr/0017): beside this file
// when the agent itself runs compiled, else the build of the current sources, made on the spot
// when missing. If it cannot be built (no typescript package, a read-only tree) the worker starts
// from the .ts sources, with a warning, and works the same.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, ensureCompiled } from '../../../bin/compiled.js';

const THIS_FILE = 'agent/src/runtime/core/worker-main';

let chosen: URL | undefined;

export function workerEntry(): URL {
  chosen ??= choose();
  return chosen;
}

function choose(): URL {
  // Already running as compiled JavaScript: the worker sits beside this file.
  if (import.meta.url.endsWith('.js')) return new URL('./worker-main.js', import.meta.url);
  const dir = ensureCompiled();
  if (dir) return pathToFileURL(path.join(dir, `${THIS_FILE}.js`));
  process.emitWarning(
    'function workers run from TypeScript sources (more memory per function); run `npm run build -w agent` to see why the build fails',
    { code: 'WASMFLEET_WORKER_TS' },
  );
  return pathToFileURL(path.join(REPO_ROOT, `${THIS_FILE}.ts`));
}
