// SPDX-License-Identifier: Apache-2.0
// Builds Go programs from a wrapper module (a go.mod + go.sum that pin them) into the user's
// cache, keyed by what decides the output: the pinned versions and a digest of go.mod + go.sum.
// Nothing else is installed; nothing is downloaded from anywhere but the Go module proxy.
//
// A build is published with one rename, so a reader never sees half a set. Concurrent callers
// (several test files, several engineers' setups) wait on one lock file instead of each building
// the same thing: the first builds, the rest find it cached. A long build reports every 20 s
// what it builds, for how long, and how long it took last time (ADR 0028).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { processExists } from './processes.ts';

const run = promisify(execFile);

/**
 * Linker flags of every tool built here: no symbol table and no DWARF (a Go panic still names
 * its functions). The link of kube-apiserver takes 7.7 instead of 13.4 CPU seconds and writes
 * 119 instead of 170 MB (docs/adr/0054). Cache directories of stripped builds end in
 * STRIPPED_SUFFIX, so caches made before hold their unstripped tools apart.
 */
export const STRIP_LDFLAGS = '-s -w';
export const STRIPPED_SUFFIX = '-stripped';

export interface GoTool {
  /** The executable's file name in the cache directory. */
  readonly binary: string;
  /** The main package `go build` compiles. */
  readonly goPackage: string;
}

/** Tools built together from one wrapper module into one cache directory. */
export interface GoToolSet {
  readonly moduleDir: string;
  readonly tools: readonly GoTool[];
  /** The cache directory (its name carries the versions and the go.mod + go.sum digest). */
  readonly dir: string;
  /** What a first build costs, shown until this machine has a time of its own (e.g. "about 4 min on 2 cores"). */
  readonly firstBuild: string;
  /** `go build -ldflags` beyond STRIP_LDFLAGS (e.g. the version stamped into Kubernetes node binaries). */
  readonly ldflags?: string;
}

export interface EnsureOptions {
  /** Called with one line per step of a build (and every 20 s during one), so a first run shows progress. */
  readonly progress?: (line: string) => void;
  /** Aborting it stops a running build (its staging directory is removed) or a wait for one. */
  readonly signal?: AbortSignal | undefined;
}

/** ~/.cache/wasmfleet, or $WASMFLEET_CACHE_DIR, or $XDG_CACHE_HOME/wasmfleet. */
export function cacheRoot(): string {
  if (process.env.WASMFLEET_CACHE_DIR) return process.env.WASMFLEET_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'wasmfleet');
}

export interface WrapperPins {
  version(module: string): string;
  /** sha256 of go.mod + go.sum, 12 hex digits: part of every cache key. */
  readonly digest: string;
}

/** Reads a wrapper module's go.mod/go.sum: the versions of `modules` and a cache-key digest. */
export async function wrapperPins(moduleDir: string, modules: readonly string[]): Promise<WrapperPins> {
  const goMod = await readFile(path.join(moduleDir, 'go.mod'), 'utf8');
  const goSum = await readFile(path.join(moduleDir, 'go.sum'), 'utf8');
  const versions = new Map<string, string>();
  for (const module of modules) {
    const match = new RegExp(`^\\s*${module.replaceAll('.', '\\.')} (v[^\\s]+)`, 'm').exec(goMod);
    if (!match?.[1]) throw new Error(`${module} is not required in ${path.join(moduleDir, 'go.mod')}`);
    versions.set(module, match[1]);
  }
  const digest = createHash('sha256').update(goMod).update(goSum).digest('hex').slice(0, 12);
  return {
    version: (module) => {
      const v = versions.get(module);
      if (v === undefined) throw new Error(`${module} was not read from ${path.join(moduleDir, 'go.mod')}`);
      return v;
    },
    digest,
  };
}

/** True when every tool's executable is in `dir`. */
export async function allPresent(
  dir: string,
  tools: readonly { readonly binary: string }[],
): Promise<boolean> {
  try {
    await Promise.all(tools.map((t) => access(path.join(dir, t.binary), constants.X_OK)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the set's tools are in its cache directory; returns 'cache' when they already
 * were, 'built' when this call built them.
 */
export async function ensureGoTools(set: GoToolSet, options: EnsureOptions = {}): Promise<'cache' | 'built'> {
  const { tools, dir } = set;
  if (await allPresent(dir, tools)) return 'cache';
  const progress = options.progress ?? (() => undefined);
  await mkdir(path.dirname(dir), { recursive: true });
  const unlock = await lock(`${dir}.lock`, progress, tools, options.signal);
  try {
    if (await allPresent(dir, tools)) return 'cache'; // another process built it while we waited
    await buildGoTools(set, progress, options.signal);
    return 'built';
  } finally {
    await unlock();
  }
}

/**
 * Takes `file` as a lock (created exclusively, holding our pid). A lock whose process is gone is
 * taken over; while a live one holds it, this waits, saying so every 20 s.
 */
async function lock(
  file: string,
  progress: (line: string) => void,
  tools: readonly GoTool[],
  signal: AbortSignal | undefined,
): Promise<() => Promise<void>> {
  const started = Date.now();
  let said = 0;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(file, 'utf8').catch(() => ''));
    if (!Number.isInteger(holder) || holder <= 0 || !processExists(holder)) {
      // Left by a build that was killed (or is being written this instant: retry shortly).
      if (Date.now() - started > 1_000 || Number.isInteger(holder)) await rm(file, { force: true });
    } else if (Date.now() - said >= 20_000) {
      said = Date.now();
      progress(
        `waiting for process ${holder}, which is building ${names(tools)} into the same cache (${seconds(Date.now() - started)} so far)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Builds `tools` in one `go build` (so one tool's link overlaps the next one's compile) into a
 * staging directory, then renames it to `dir`.
 */
async function buildGoTools(
  set: GoToolSet,
  progress: (line: string) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { tools, dir } = set;
  await run('go', ['version']).catch((cause: unknown) => {
    throw new Error(`Go is needed to build ${names(tools)}; install Go ≥ 1.26 and retry`, { cause });
  });
  const staging = await mkdtemp(`${dir}.building-`);
  const timings = path.join(path.dirname(dir), 'last-build-seconds.json');
  const expected = await lastBuildSeconds(timings, tools);
  const started = Date.now();
  const expectation =
    expected === undefined ? set.firstBuild : `about ${seconds(expected * 1000)}, as last time here`;
  progress(`building ${names(tools)} from the Go module proxy (expected: ${expectation})`);
  try {
    await goBuild(set, staging, signal, (packages) =>
      progress(
        `still building ${names(tools)}: ${seconds(Date.now() - started)} elapsed, ${packages} packages compiled, expected ${expectation}`,
      ),
    );
    await rename(staging, dir).catch(async (error: unknown) => {
      if (await allPresent(dir, tools)) return;
      throw new Error(`could not publish ${staging} as ${dir}`, { cause: error });
    });
    const took = Math.round((Date.now() - started) / 1000);
    progress(`built ${names(tools)} in ${took} s`);
    await recordBuildSeconds(timings, tools, took);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Runs `go build -v`, counting the packages it compiles; `tick` is called every 20 s. */
function goBuild(
  { moduleDir, tools, ldflags }: GoToolSet,
  outDir: string,
  signal: AbortSignal | undefined,
  tick: (packages: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // One package: -o names the file. Several: -o is a directory and each binary is named
    // after its package, so each is built into a subdirectory and moved (below).
    const child = spawn(
      'go',
      [
        'build',
        '-v',
        '-trimpath',
        `-ldflags=${[STRIP_LDFLAGS, ldflags].filter(Boolean).join(' ')}`,
        '-o',
        `${outDir}/`,
        ...tools.map((t) => t.goPackage),
      ],
      {
        cwd: moduleDir,
        env: { ...process.env, GOFLAGS: '-buildvcs=false', CGO_ENABLED: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
        // Its own process group: a Ctrl-C reaches the program, which decides (and aborts
        // `signal`); go then gets SIGINT, on which it stops its compilers.
        detached: true,
        killSignal: 'SIGINT',
        ...(signal ? { signal } : {}),
      },
    );
    let packages = 0;
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      packages += chunk.split('\n').filter((l) => /^[\w.-]+(\/[\w.~+-]+)*$/.test(l.trim())).length;
      tail = (tail + chunk).slice(-8000);
    });
    const ticker = setInterval(() => tick(packages), 20_000);
    child.once('error', (error) => {
      clearInterval(ticker);
      if (signal?.aborted) reject(signal.reason as Error);
      else reject(new Error(`could not run go build for ${names(tools)}`, { cause: error }));
    });
    child.once('exit', (code) => {
      clearInterval(ticker);
      if (signal?.aborted) reject(signal.reason as Error);
      else if (code === 0) resolve(renameOutputs(tools, outDir));
      else {
        const errors = tail
          .split('\n')
          .filter((l) => !/^[\w.-]+(\/[\w.~+-]+)*$/.test(l.trim()))
          .join('\n');
        reject(
          new Error(`go build ${tools.map((t) => t.goPackage).join(' ')} failed:\n${errors.slice(-4000)}`),
        );
      }
    });
  });
}

/** `go build -o dir/` names each binary after its package path (…/server/v3 → server). */
async function renameOutputs(tools: readonly GoTool[], outDir: string): Promise<void> {
  for (const tool of tools) {
    const parts = tool.goPackage.split('/');
    const last = parts.at(-1) ?? tool.binary;
    const built = /^v\d+$/.test(last) ? (parts.at(-2) ?? last) : last;
    if (built !== tool.binary) await rename(path.join(outDir, built), path.join(outDir, tool.binary));
  }
}

function names(tools: readonly GoTool[]): string {
  return tools.map((t) => t.binary).join(' + ');
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

async function lastBuildSeconds(file: string, tools: readonly GoTool[]): Promise<number | undefined> {
  try {
    const all = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
    return all[names(tools)];
  } catch {
    return undefined;
  }
}

async function recordBuildSeconds(file: string, tools: readonly GoTool[], took: number): Promise<void> {
  let all: Record<string, number> = {};
  try {
    all = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
  } catch {
    // first record
  }
  await writeFile(file, JSON.stringify({ ...all, [names(tools)]: took }, null, 2)).catch(() => undefined);
}
