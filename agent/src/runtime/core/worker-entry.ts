// Which file a function worker starts from. A worker that loads .ts files pulls in Node's
// type-stripping machinery: ~12 MB for the first worker, ~5 MB for each further one, on top of
// the ~4 MB a worker thread costs anyway (docs/benchmarks.md, "Agent pipeline"). So workers start
// from plain JavaScript compiled into agent/dist/worker/ by `npm run build -w agent`. That output
// is used only when a hash of every source matches, and it is rebuilt on the spot when missing or
// stale, so nobody has to remember the build; if it cannot be built (no typescript package, a
// read-only tree) the worker starts from the .ts sources, with a warning, and works the same.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const WORKER_SOURCE_DIR = path.dirname(fileURLToPath(import.meta.url));
const AGENT_ROOT = path.resolve(WORKER_SOURCE_DIR, '../../..');
export const WORKER_DIST_DIR = path.join(AGENT_ROOT, 'dist/worker');
export const WORKER_MANIFEST = path.join(WORKER_DIST_DIR, 'manifest.json');
/** The worker's whole import graph (the build compiles exactly these). */
export const WORKER_SOURCES = [
  'worker-main.ts',
  'channel.ts',
  'call-context.ts',
  'guest-memory.ts',
  'host-imports.ts',
  'wasi.ts',
] as const;

let chosen: URL | undefined;

export function workerEntry(): URL {
  chosen ??= choose();
  return chosen;
}

function choose(): URL {
  // Already running as compiled JavaScript: the worker sits beside this file.
  if (import.meta.url.endsWith('.js')) return new URL('./worker-main.js', import.meta.url);
  if (!builtAndFresh()) {
    spawnSync(process.execPath, [path.join(AGENT_ROOT, 'scripts/build-worker.ts')], {
      stdio: 'ignore',
      timeout: 30_000,
    });
  }
  if (builtAndFresh()) return pathToFileURL(path.join(WORKER_DIST_DIR, 'worker-main.js'));
  process.emitWarning(
    'function workers run from TypeScript sources (more memory per function); run `npm run build -w agent`',
    { code: 'WASMFLEET_WORKER_TS' },
  );
  return new URL('./worker-main.ts', import.meta.url);
}

function builtAndFresh(): boolean {
  try {
    const manifest = JSON.parse(readFileSync(WORKER_MANIFEST, 'utf8')) as {
      sources?: Record<string, string>;
    };
    return WORKER_SOURCES.every(
      (file) =>
        manifest.sources?.[file] ===
        createHash('sha256')
          .update(readFileSync(path.join(WORKER_SOURCE_DIR, file), 'utf8'))
          .digest('hex'),
    );
  } catch {
    return false;
  }
}
