// SPDX-License-Identifier: Apache-2.0
// Builds guest modules from source with the toolchains WasmFleet supports (docs/guest-abi.md):
// clang + wasi-libc for C, asc for AssemblyScript, Go's GOOS=wasip1 for Go, and jco componentize
// for JavaScript components. Every build writes into a git-ignored build/ folder; nothing built is
// committed. Tool locations can be overridden with CLANG, WASI_SYSROOT, GO and ASC.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const WORKLOADS_DIR = path.resolve(import.meta.dirname, '..');
export const REPO_DIR = path.resolve(WORKLOADS_DIR, '..');
export const SDK_C_DIR = path.join(WORKLOADS_DIR, 'sdk', 'c');
export const SDK_AS_DIR = path.join(WORKLOADS_DIR, 'sdk', 'assemblyscript');
export const SDK_GO_DIR = path.join(WORKLOADS_DIR, 'sdk', 'go');
export const SDK_JS_DIR = path.join(WORKLOADS_DIR, 'sdk', 'js');
export const WIT_PATH = path.join(REPO_DIR, 'api', 'wit', 'wasmfleet-function.wit');
export const WIT_WORLD = 'sensor-function';

/** A missing toolchain: the message says what to install. */
export class ToolchainMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainMissing';
  }
}

async function exec(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  try {
    await run(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT')
      throw new ToolchainMissing(`${file} is not installed (see workloads/README.md, "Toolchains")`);
    const output = [e.stdout, e.stderr].filter(Boolean).join('\n').trim();
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed:\n${output}`, { cause: error });
  }
}

async function ensureOutDir(out: string): Promise<void> {
  await mkdir(path.dirname(out), { recursive: true });
}

export interface CBuildOptions {
  readonly sources: readonly string[];
  readonly out: string;
  readonly includeDirs?: readonly string[];
  /** Extra flags, e.g. ['-DFOO=1']. */
  readonly flags?: readonly string[];
  /** Default -O2. */
  readonly optimize?: string;
}

export function clangPath(): string {
  return process.env.CLANG ?? 'clang';
}

/** C → a WASI reactor core module with the C SDK on the include path. */
export async function buildC(o: CBuildOptions): Promise<string> {
  await ensureOutDir(o.out);
  const sysroot = process.env.WASI_SYSROOT ? [`--sysroot=${process.env.WASI_SYSROOT}`] : [];
  const includes = [SDK_C_DIR, ...(o.includeDirs ?? [])].map((d) => `-I${d}`);
  await exec(clangPath(), [
    '--target=wasm32-wasi',
    ...sysroot,
    o.optimize ?? '-O2',
    '-mexec-model=reactor',
    '-std=c11',
    '-Wall',
    '-Werror',
    ...includes,
    ...(o.flags ?? []),
    '-Wl,--strip-all',
    '-o',
    o.out,
    ...o.sources,
  ]);
  return o.out;
}

export interface AsBuildOptions {
  readonly entry: string;
  readonly out: string;
}

/** AssemblyScript → a core module with no imports beyond wasmfleet_v1 (abort goes to set_error). */
export async function buildAssemblyScript(o: AsBuildOptions): Promise<string> {
  await ensureOutDir(o.out);
  const asc = process.env.ASC ?? path.join(REPO_DIR, 'node_modules', '.bin', 'asc');
  if (!existsSync(asc))
    throw new ToolchainMissing(
      'asc is not installed: run `npm install` (assemblyscript is a workloads devDependency)',
    );
  await exec(
    asc,
    [
      path.basename(o.entry),
      '--outFile',
      o.out,
      '-O3',
      '--runtime',
      'incremental',
      '--use',
      'abort=~lib/wasmfleet/index/wfAbort',
      '--path',
      SDK_AS_DIR,
    ],
    { cwd: path.dirname(o.entry) },
  );
  return o.out;
}

export interface GoBuildOptions {
  /** The folder holding go.mod and the main package. */
  readonly dir: string;
  readonly out: string;
}

/** Go → a wasip1 reactor (-buildmode=c-shared; //go:wasmexport wf_alloc/wf_handle). */
export async function buildGo(o: GoBuildOptions): Promise<string> {
  await ensureOutDir(o.out);
  await exec(
    process.env.GO ?? 'go',
    ['build', '-buildmode=c-shared', '-trimpath', '-ldflags=-s -w', '-o', o.out, '.'],
    {
      cwd: o.dir,
      env: {
        ...process.env,
        GOOS: 'wasip1',
        GOARCH: 'wasm',
        GOTOOLCHAIN: 'local',
        GOFLAGS: '-mod=mod',
        CGO_ENABLED: '0',
      },
    },
  );
  return o.out;
}

export interface JsComponentOptions {
  readonly source: string;
  readonly out: string;
}

interface JcoComponentize {
  componentize(source: string, opts: Record<string, unknown>): Promise<void>;
}
interface Preview2Filesystem {
  _addPreopen(virtualPath: string, hostPath: string): void;
}

let preopened = false;

/**
 * JavaScript → a component of the world wasmfleet:function/sensor-function, through jco
 * componentize (StarlingMonkey). Runs in-process: jco's WIT parser runs on preview2-shim 0.26,
 * which starts with no preopened directories on Node, so the CLI cannot read the WIT file
 * ("failed to get path metadata"); we give that shim instance a preopen of `/` first.
 */
export async function buildJsComponent(o: JsComponentOptions): Promise<string> {
  await ensureOutDir(o.out);
  const rootRequire = createRequire(path.join(REPO_DIR, 'package.json'));
  let jcoDir: string;
  try {
    jcoDir = path.dirname(rootRequire.resolve('@bytecodealliance/jco/package.json'));
  } catch {
    const main = rootRequire.resolve('@bytecodealliance/jco');
    jcoDir = main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`));
  }
  if (!preopened) {
    const transpileRequire = createRequire(rootRequire.resolve('@bytecodealliance/jco-transpile'));
    const shim = (await import(
      pathToFileURL(transpileRequire.resolve('@bytecodealliance/preview2-shim/filesystem')).href
    )) as Preview2Filesystem;
    shim._addPreopen('/', '/');
    preopened = true;
  }
  const jco = (await import(
    pathToFileURL(path.join(jcoDir, 'dist', 'cmd', 'componentize.js')).href
  )) as JcoComponentize;
  // jco reports progress, and the bundler warns that the host import is external (it is: the
  // component imports it), on the console; keep the build output to one line per module.
  const { log, warn } = console;
  console.log = () => undefined;
  console.warn = () => undefined;
  try {
    await jco.componentize(o.source, {
      wit: WIT_PATH,
      worldName: WIT_WORLD,
      disable: ['all'],
      bundle: true,
      out: o.out,
    });
  } finally {
    console.log = log;
    console.warn = warn;
  }
  if (!(await stat(o.out).catch(() => undefined))) throw new Error(`jco componentize wrote no ${o.out}`);
  return o.out;
}
