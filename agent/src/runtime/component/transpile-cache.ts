// SPDX-License-Identifier: Apache-2.0
// Transpiled components, made once per sandboxed component and jco version and kept on disk:
//   <cacheDir>/jco-<version>/<sha256 of the sandboxed component>/{manifest.json, component.js, *.wasm}
// An entry is written to a temp directory and renamed into place, so a reader (this agent after a
// restart, or a second agent on the same data dir) sees a whole entry or none. The manifest holds
// every file's sha256 and is checked on each read: the glue is JavaScript the agent executes, so
// a flipped bit or a tampered file is a cache miss that transpiles again, never something run.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TranspileReply, TranspileRequest } from './transpile-worker.ts';
import { syncDir } from '../../persist/atomic-file.ts';
import { workerModule } from '../core/worker-entry.ts';
import { ReasonError } from '../errors.ts';

/** Bumped when the layout or the transpile options change, so old entries are not reused. */
const FORMAT = 1;
const MANIFEST = 'manifest.json';
const GLUE = 'component.js';
/** Entries kept per jco version; the least recently used beyond this are removed. */
export const MAX_CACHE_ENTRIES = 16;
/** A 12 MB JS component takes ~1 s on a 2-core machine; a slow device gets ample headroom. */
export const TRANSPILE_TIMEOUT_MS = 120_000;
/** Temp directories older than this are leftovers of a crash mid-write. */
const STALE_TEMP_MS = 10 * 60_000;

export interface Transpiled {
  readonly key: string;
  readonly js: string;
  readonly coreModules: Readonly<Record<string, Uint8Array>>;
  readonly imports: readonly string[];
  /** 'disk' when an existing entry was read, 'transpiled' when jco ran now. */
  readonly source: 'disk' | 'transpiled';
  /** Time jco took (0 when read from disk). */
  readonly transpileMs: number;
  /** Time to read and verify the entry (0 when just transpiled). */
  readonly readMs: number;
}

export class TranspileFailure extends ReasonError<'InvalidModule' | 'CompileTimeout'> {
  override readonly name = 'TranspileFailure';
}

interface Manifest {
  readonly format: number;
  readonly jco: string;
  readonly key: string;
  readonly imports: string[];
  readonly transpileMs: number;
  readonly files: Record<string, { readonly sha256: string; readonly bytes: number }>;
}

interface JcoLocation {
  readonly version: string;
  readonly url: string;
  readonly wasiShimUrl: string;
}

let jcoLocation: JcoLocation | undefined;

/** Where jco (and the preview2-shim it was built against) live, and jco's version. */
export async function locateJco(): Promise<JcoLocation> {
  if (jcoLocation) return jcoLocation;
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('@bytecodealliance/jco');
  } catch (error) {
    throw new Error('@bytecodealliance/jco is not installed (an agent dependency)', { cause: error });
  }
  // jco's exports map hides package.json; its entry point is <pkg>/dist/api.js.
  const pkgFile = path.join(main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
  const pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${pkgFile} has no version`);
  // The shim jco itself depends on (0.26: no preopens by default on Node), not whichever
  // version happens to be hoisted to the top of node_modules.
  const shim = createRequire(pkgFile).resolve('@bytecodealliance/preview2-shim/instantiation');
  jcoLocation = {
    version: pkg.version,
    url: pathToFileURL(main).href,
    wasiShimUrl: pathToFileURL(shim).href,
  };
  return jcoLocation;
}

let configuredDir: string | undefined;

/**
 * Sets where transpiled components are kept; the agent passes a folder of its data dir (next to
 * the module store's blobs). Without it: $WASMFLEET_DATA_DIR/components, else a per-user folder
 * in the OS temp dir (survives agent restarts, not reboots).
 */
export function configureComponentCache(dir: string): void {
  configuredDir = dir;
}

export function componentCacheDir(): string {
  if (configuredDir) return configuredDir;
  const dataDir = process.env.WASMFLEET_DATA_DIR;
  if (dataDir) return path.join(dataDir, 'components');
  // Per user, so agents of different users never share (or fight over) executable glue.
  return path.join(tmpdir(), `wasmfleet-${currentUser()}`, 'components');
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // Containers often run as a uid with no passwd entry.
    return String(process.getuid?.() ?? 'agent');
  }
}

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** The cache key: the sandboxed component's digest (memory maxima already rewritten). */
export function componentKey(sandboxed: Uint8Array): string {
  return sha256(sandboxed);
}

/** In-flight transpiles, so concurrent loads of one component transpile it once. */
const inFlight = new Map<string, Promise<Transpiled>>();

export const cacheStats = { transpiles: 0, diskHits: 0, corruptEntries: 0 };

/** The transpiled component for these sandboxed bytes: from disk, or transpiled and stored. */
export async function transpiled(sandboxed: Uint8Array, key = componentKey(sandboxed)): Promise<Transpiled> {
  const jco = await locateJco();
  const versionDir = path.join(componentCacheDir(), `jco-${jco.version}-f${FORMAT}`);
  const entryDir = path.join(versionDir, key);
  const flight = entryDir;
  const pending = inFlight.get(flight);
  if (pending) return pending;
  const work = (async () => {
    const cached = await readEntry(entryDir, key, jco.version);
    if (cached) return cached;
    const fresh = await transpileInWorker(sandboxed, jco);
    const manifest: Manifest = {
      format: FORMAT,
      jco: jco.version,
      key,
      imports: fresh.imports,
      transpileMs: fresh.transpileMs,
      files: Object.fromEntries(
        Object.entries(fresh.files).map(([n, b]) => [n, { sha256: sha256(b), bytes: b.length }]),
      ),
    };
    // A full disk or a read-only data dir costs a transpile per start, not the function.
    await writeEntry(versionDir, entryDir, manifest, fresh.files).catch(() => undefined);
    await evict(versionDir, key).catch(() => undefined);
    return toTranspiled(key, fresh.files, fresh.imports, 'transpiled', fresh.transpileMs, 0);
  })();
  inFlight.set(flight, work);
  try {
    return await work;
  } finally {
    inFlight.delete(flight);
  }
}

function toTranspiled(
  key: string,
  files: Record<string, Uint8Array>,
  imports: readonly string[],
  source: Transpiled['source'],
  transpileMs: number,
  readMs: number,
): Transpiled {
  const glue = files[GLUE];
  if (!glue) throw new TranspileFailure('InvalidModule', `jco produced no ${GLUE}`);
  const coreModules = Object.fromEntries(Object.entries(files).filter(([n]) => n.endsWith('.wasm')));
  return { key, js: new TextDecoder().decode(glue), coreModules, imports, source, transpileMs, readMs };
}

/** A verified entry, or undefined (absent, other format, or corrupt — then it is removed). */
async function readEntry(entryDir: string, key: string, jcoVersion: string): Promise<Transpiled | undefined> {
  const t0 = performance.now();
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(path.join(entryDir, MANIFEST), 'utf8')) as Manifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return discard(entryDir);
  }
  if (manifest.format !== FORMAT || manifest.jco !== jcoVersion || manifest.key !== key)
    return discard(entryDir);
  const files: Record<string, Uint8Array> = {};
  for (const [name, want] of Object.entries(manifest.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) return discard(entryDir);
    const bytes = await readFile(path.join(entryDir, name)).catch(() => undefined);
    if (!bytes || bytes.length !== want.bytes || sha256(bytes) !== want.sha256) return discard(entryDir);
    files[name] = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  // Touch the entry: eviction keeps the recently used ones.
  const now = new Date();
  await utimes(entryDir, now, now).catch(() => undefined);
  cacheStats.diskHits++;
  return toTranspiled(key, files, manifest.imports, 'disk', 0, performance.now() - t0);
}

async function discard(entryDir: string): Promise<undefined> {
  cacheStats.corruptEntries++;
  await rm(entryDir, { recursive: true, force: true });
  return undefined;
}

async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the whole entry into a temp directory, then renames it into place. */
async function writeEntry(
  versionDir: string,
  entryDir: string,
  manifest: Manifest,
  files: Record<string, Uint8Array>,
): Promise<void> {
  await mkdir(versionDir, { recursive: true });
  const tmp = path.join(versionDir, `.${path.basename(entryDir)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(tmp);
    for (const [name, bytes] of Object.entries(files)) await writeFileSynced(path.join(tmp, name), bytes);
    // The manifest goes last: an entry without one is never read.
    await writeFileSynced(path.join(tmp, MANIFEST), JSON.stringify(manifest));
    await syncDir(tmp);
    try {
      await rename(tmp, entryDir);
    } catch (error) {
      // Another agent on the same data dir finished first; its entry is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
    await syncDir(versionDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Keeps the MAX_CACHE_ENTRIES most recently used entries and clears stale temp dirs. */
async function evict(versionDir: string, keep: string): Promise<void> {
  const names = await readdir(versionDir);
  const now = Date.now();
  const entries: { name: string; mtime: number }[] = [];
  for (const name of names) {
    const full = path.join(versionDir, name);
    const s = await stat(full).catch(() => undefined);
    if (!s) continue;
    if (name.endsWith('.tmp')) {
      if (now - s.mtimeMs > STALE_TEMP_MS) await rm(full, { recursive: true, force: true });
    } else if (name !== keep) {
      entries.push({ name, mtime: s.mtimeMs });
    }
  }
  entries.sort((a, b) => b.mtime - a.mtime);
  for (const e of entries.slice(MAX_CACHE_ENTRIES - 1))
    await rm(path.join(versionDir, e.name), { recursive: true, force: true });
}

async function transpileInWorker(
  bytes: Uint8Array,
  jco: JcoLocation,
): Promise<{ files: Record<string, Uint8Array>; imports: string[]; transpileMs: number }> {
  const t0 = performance.now();
  const request: TranspileRequest = { jcoUrl: jco.url, bytes };
  const worker = new Worker(workerModule(import.meta.url, 'transpile-worker'), {
    workerData: request,
    env: {},
    stdout: true, // jco's progress chatter is not the agent's log
    stderr: true,
    // jco holds the component several times over while it works.
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
  worker.stdout.resume();
  worker.stderr.resume();
  let timer: NodeJS.Timeout | undefined;
  try {
    const reply = await new Promise<TranspileReply>((resolve, reject) => {
      timer = setTimeout(() => {
        reject(
          new TranspileFailure(
            'CompileTimeout',
            `transpiling the component took longer than ${TRANSPILE_TIMEOUT_MS} ms`,
          ),
        );
      }, TRANSPILE_TIMEOUT_MS);
      worker.once('message', resolve);
      worker.once('error', (error: Error) => {
        reject(
          new TranspileFailure('InvalidModule', `the transpiler crashed: ${error.message}`, { cause: error }),
        );
      });
      worker.once('exit', (code) => {
        reject(
          new TranspileFailure('InvalidModule', `the transpiler exited (code ${code}) without a result`),
        );
      });
    });
    if (!reply.ok)
      throw new TranspileFailure('InvalidModule', `jco cannot transpile the component: ${reply.message}`);
    cacheStats.transpiles++;
    return { files: reply.files, imports: reply.imports, transpileMs: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
