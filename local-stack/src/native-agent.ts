// SPDX-License-Identifier: Apache-2.0
// Finds or builds the native device agent (agent-native/, Rust on Wasmtime; docs/adr/0021), for
// `wasmfleet dev up --agent native` and the tests.
//
// The binary is cached by its inputs — Cargo.lock, every Cargo.toml, agent-native/build.rs and
// src, the crates vendored in agent-native/vendor and the WIT world it binds (api/wit/) plus the
// rustc version — in ~/.cache/wasmfleet/agent-native/bin/<key>/,
// so a warm run only hashes files. Cargo's own build cache (target/) lives beside it and is shared
// by every key, so an edit rebuilds only the agent's crate. Builds run under `nice -n 19`, one at a
// time (a lock file), and print what they do; each is checked to be this checkout's (cargoBuild).
// WASMFLEET_NATIVE_AGENT points at a binary you built.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheRoot } from './go-tools.ts';

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NATIVE_AGENT_NAME = 'wasmfleet-agent-native';
// What the binary is built from: not agent-native/test or packaging, whose edits need no rebuild.
const INPUTS = [
  'Cargo.lock',
  'Cargo.toml',
  'agent-native/Cargo.toml',
  'agent-native/build.rs',
  'agent-native/src',
  'agent-native/vendor',
  'api/wit',
];

async function filesUnder(rel: string): Promise<string[]> {
  const full = path.join(REPO_ROOT, rel);
  const info = await stat(full).catch(() => undefined);
  if (!info) return [];
  if (!info.isDirectory()) return [rel];
  const out: string[] = [];
  for (const entry of (await readdir(full, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name === 'target' || entry.name.startsWith('.')) continue;
    out.push(...(await filesUnder(path.join(rel, entry.name))));
  }
  return out;
}

/** The cache key: a digest of every input file's path and bytes, and the compiler's version. */
export async function nativeAgentKey(): Promise<string> {
  const hash = createHash('sha256');
  const rustc = await run('rustc', ['--version']).then(
    (r) => r.stdout.trim(),
    () => 'no rustc',
  );
  hash.update(rustc);
  // A build that keeps its symbol table (agent-native/build.rs) is another binary.
  if (process.env.WASMFLEET_NATIVE_SYMBOLS === '1') hash.update('\0symbols');
  for (const input of INPUTS)
    for (const file of await filesUnder(input)) {
      hash.update(`\0${file}\0`);
      hash.update(await readFile(path.join(REPO_ROOT, file)));
    }
  return hash.digest('hex').slice(0, 16);
}

export interface NativeAgentBinary {
  readonly path: string;
  readonly source: 'WASMFLEET_NATIVE_AGENT' | 'cache' | 'built';
  readonly buildSeconds?: number;
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Waits for (and takes) the build lock; a lock older than an hour belongs to a dead build. */
async function lock(file: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.close();
      return () => rm(file, { force: true });
    } catch {
      const age = await stat(file).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 3600_000) await rm(file, { force: true });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * `cargo build --release` of the agent with WASMFLEET_BUILD_KEY set to the cache key. Every
 * checkout of the repository builds into the one shared target directory (so Wasmtime compiles
 * once), and cargo names the agent's outputs and judges them fresh by file times alone, the same
 * for every checkout: a build here could find another checkout's newer binary "fresh" and keep
 * it. The agent reads the key with option_env! (agent-native/src/main.rs), which cargo tracks, so
 * a different key always rebuilds the agent's own crate (~2 min), and the key is in the binary to
 * check that the copy is this build's.
 */
export function cargoBuild(
  targetDir: string,
  key: string,
  progress: ((line: string) => void) | undefined,
  extraArgs: readonly string[] = [],
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(
      'nice',
      ['-n', '19', 'cargo', 'build', '--release', '--locked', '-p', NATIVE_AGENT_NAME, ...extraArgs],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, CARGO_TARGET_DIR: targetDir, WASMFLEET_BUILD_KEY: key },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let tail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-8192);
      for (const line of chunk.toString('utf8').split('\n'))
        if (/^\s*(Compiling wasmfleet|Finished|error)/.test(line)) progress?.(line.trim());
    });
    child.on('error', (error) => {
      reject(new Error('cannot run cargo: install Rust (rustup) and retry', { cause: error }));
    });
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`cargo build of the native agent failed (exit ${code}):\n${tail}`));
    });
  });
}

/** The native agent binary: from WASMFLEET_NATIVE_AGENT, the cache, or a fresh release build. */
export async function ensureNativeAgent(
  options: { readonly progress?: (line: string) => void } = {},
): Promise<NativeAgentBinary> {
  const given = process.env.WASMFLEET_NATIVE_AGENT;
  if (given) return { path: given, source: 'WASMFLEET_NATIVE_AGENT' };
  const key = await nativeAgentKey();
  const root = path.join(cacheRoot(), 'agent-native');
  const binary = path.join(root, 'bin', key, NATIVE_AGENT_NAME);
  if (await executable(binary)) return { path: binary, source: 'cache' };
  await mkdir(root, { recursive: true });
  const release = await lock(path.join(root, '.build.lock'));
  try {
    if (await executable(binary)) return { path: binary, source: 'cache' };
    const started = Date.now();
    const targetDir = path.join(root, 'target');
    options.progress?.(
      `building the native agent (cargo build --release, cache key ${key}) into ${targetDir}`,
    );
    await cargoBuild(targetDir, key, options.progress);
    const staged = `${binary}.${process.pid}.tmp`;
    await mkdir(path.dirname(binary), { recursive: true });
    await copyFile(path.join(targetDir, 'release', NATIVE_AGENT_NAME), staged);
    if (!(await readFile(staged)).includes(key)) {
      await rm(staged, { force: true });
      throw new Error(
        `the native agent in ${targetDir} is not the one just built from this checkout (cache key ${key}): another checkout's cargo build replaced it meanwhile; run again`,
      );
    }
    await rename(staged, binary);
    return { path: binary, source: 'built', buildSeconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    await release();
  }
}
