// SPDX-License-Identifier: Apache-2.0
// Compute kernels, side by side: the examples' C kernels compiled to wasm32 (clang -O2) and run by
// V8 (the Node agent's engine) and by Wasmtime (the native agent's, configured as the agent runs
// it: agent-native/examples/kernel_bench.rs) vs their plain-JS twins (workloads/src/kernels.ts)
// vs the same C compiled natively (gcc -O2), each with and without the cost of copying the data
// in and out.
//
//   node bench/compute/run.ts [--budget-ms 150]
//
// Copies go into and out of preallocated buffers (wasm: JS typed array ↔ linear memory; native:
// memcpy). Prints a table with ratios and writes bench/results/compute.json. Never fails on timing; it
// fails only when a toolchain is missing or the three implementations disagree on a result.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, cpus, homedir, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  generateMaze,
  grayConvert,
  matmul,
  mazeBfs,
  mlpPredictBatch,
  parseModelHeader,
  prng,
} from '../../workloads/src/kernels.ts';

const run = promisify(execFile);
const here = import.meta.dirname;
const root = path.resolve(here, '..', '..');
const examples = path.join(root, 'workloads', 'examples');
const budgetArg = process.argv.indexOf('--budget-ms');
const BUDGET_MS = budgetArg > 0 ? Number(process.argv[budgetArg + 1]) : 150;

const KERNEL_SOURCES = [
  path.join(examples, 'maze', 'maze_kernel.c'),
  path.join(examples, 'grayscale', 'gray_kernel.c'),
  path.join(examples, 'ml-inference', 'mlp_kernel.c'),
  path.join(here, 'c', 'matmul.c'),
];
const INCLUDES = ['maze', 'grayscale', 'ml-inference'].map((e) => `-I${path.join(examples, e)}`);

// ---- inputs (deterministic) ----
const MAZE_SIDE = 512;
const maze = generateMaze(MAZE_SIDE, MAZE_SIDE, 7);
const W = 640;
const H = 480;
const rnd = prng(42);
const rgba = Uint8Array.from({ length: W * H * 4 }, () => Math.floor(rnd() * 256));
const N = 128;
const matA = Float32Array.from({ length: N * N }, () => rnd() * 2 - 1);
const matB = Float32Array.from({ length: N * N }, () => rnd() * 2 - 1);
const testSet = JSON.parse(await readFile(path.join(examples, 'ml-inference', 'test-set.json'), 'utf8')) as {
  x: number[][];
};
const VECTORS = 10_000;
const features = new Float32Array(VECTORS * 8);
for (let i = 0; i < VECTORS; i++) features.set(testSet.x[i % testSet.x.length]!, i * 8);
const model = parseModelHeader(await readFile(path.join(examples, 'ml-inference', 'model.h'), 'utf8'));

// ---- timing: calibrate a batch to ~budget/7, run 7 batches, report the fastest batch's mean per
// call (the least disturbed by other processes on a small shared machine) ----
function measure(op: () => void): number {
  op();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) op();
    if (performance.now() - t0 >= BUDGET_MS / 7 || reps >= 1 << 24) break;
    reps *= 2;
  }
  const samples: number[] = [];
  for (let s = 0; s < 7; s++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) op();
    samples.push(((performance.now() - t0) * 1e6) / reps);
  }
  return Math.min(...samples);
}

interface Timing {
  kernelNs: number;
  copyNs: number;
  check: number;
}
type Kernel = 'maze' | 'grayscale' | 'matmul' | 'inference';
const KERNELS: readonly Kernel[] = ['maze', 'grayscale', 'matmul', 'inference'];
const LABEL: Record<Kernel, string> = {
  maze: 'maze BFS 512×512',
  grayscale: 'grayscale 640×480 RGBA',
  matmul: 'matmul 128×128 f32',
  inference: `MLP 8-${model.hidden}-3 × ${VECTORS / 1000}k vectors`,
};

const checks = {
  maze: (steps: number) => steps,
  gray: (g: Uint8Array) => g.reduce((a, b) => a + b, 0),
  matmul: (c: Float32Array) => c.reduce((a, b) => a + b, 0),
  mlp: (classes: Int32Array) => classes.reduce((a, c, i) => a + c * ((i % 7) + 1), 0),
};

// ---- plain JS ----
function benchJs(): Record<Kernel, Timing> {
  const n = MAZE_SIDE * MAZE_SIDE;
  const dist = new Int32Array(n);
  const queue = new Int32Array(n);
  let steps = 0;
  const mazeNs = measure(() => {
    steps = mazeBfs(maze.grid, MAZE_SIDE, MAZE_SIDE, maze.start, maze.goal, dist, queue);
  });
  const gray = new Uint8Array(W * H);
  const grayNs = measure(() => grayConvert(rgba, gray, W * H, 4));
  const c = new Float32Array(N * N);
  const mmNs = measure(() => matmul(matA, matB, c, N));
  const classes = new Int32Array(VECTORS);
  const mlNs = measure(() => mlpPredictBatch(model, features, VECTORS, classes));
  // JS works on the data where it is: there is nothing to copy, so both columns are the same.
  return {
    maze: { kernelNs: mazeNs, copyNs: mazeNs, check: checks.maze(steps) },
    grayscale: { kernelNs: grayNs, copyNs: grayNs, check: checks.gray(gray) },
    matmul: { kernelNs: mmNs, copyNs: mmNs, check: checks.matmul(c) },
    inference: { kernelNs: mlNs, copyNs: mlNs, check: checks.mlp(classes) },
  };
}

// ---- wasm ----
interface KernelExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  bench_alloc(size: number): number;
  maze_bfs(
    grid: number,
    w: number,
    h: number,
    start: number,
    goal: number,
    dist: number,
    queue: number,
  ): number;
  gray_convert(src: number, gray: number, pixels: number, channels: number): void;
  matmul(a: number, b: number, c: number, n: number): void;
  mlp_predict_batch(features: number, count: number, classes: number): void;
}

async function benchWasm(file: string): Promise<Record<Kernel, Timing>> {
  const module = await WebAssembly.compile(await readFile(file));
  // The kernels make no system calls; any WASI import the libc pulls in answers ENOSYS.
  const wasi: Record<string, () => number> = {};
  for (const imp of WebAssembly.Module.imports(module)) wasi[imp.name] = () => 52;
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi });
  const x = instance.exports as unknown as KernelExports;
  x._initialize();
  const alloc = (bytes: number): number => {
    const p = x.bench_alloc(bytes);
    if (p === 0) throw new Error('wasm allocation failed');
    return p;
  };
  const u8 = (ptr: number, len: number) => new Uint8Array(x.memory.buffer, ptr, len);
  const i32 = (ptr: number, len: number) => new Int32Array(x.memory.buffer, ptr, len);
  const f32 = (ptr: number, len: number) => new Float32Array(x.memory.buffer, ptr, len);

  const n = MAZE_SIDE * MAZE_SIDE;
  const grid = alloc(n);
  const dist = alloc(n * 4);
  const queue = alloc(n * 4);
  u8(grid, n).set(maze.grid);
  let steps = 0;
  const mazeOp = () => {
    steps = x.maze_bfs(grid, MAZE_SIDE, MAZE_SIDE, maze.start, maze.goal, dist, queue);
  };
  const mazeNs = measure(mazeOp);
  // Data in: the grid. Data out: the answer (an i32, returned), as in the maze example.
  const mazeCopyNs = measure(() => {
    u8(grid, n).set(maze.grid);
    mazeOp();
  });
  const mazeCheck = checks.maze(steps);

  const src = alloc(W * H * 4);
  const gray = alloc(W * H);
  u8(src, W * H * 4).set(rgba);
  const grayNs = measure(() => x.gray_convert(src, gray, W * H, 4));
  const grayOut = new Uint8Array(W * H);
  const grayCopyNs = measure(() => {
    u8(src, W * H * 4).set(rgba);
    x.gray_convert(src, gray, W * H, 4);
    grayOut.set(u8(gray, W * H));
  });
  const grayCheck = checks.gray(u8(gray, W * H));

  const a = alloc(N * N * 4);
  const b = alloc(N * N * 4);
  const c = alloc(N * N * 4);
  f32(a, N * N).set(matA);
  f32(b, N * N).set(matB);
  const mmNs = measure(() => x.matmul(a, b, c, N));
  const mmOut = new Float32Array(N * N);
  const mmCopyNs = measure(() => {
    f32(a, N * N).set(matA);
    f32(b, N * N).set(matB);
    x.matmul(a, b, c, N);
    mmOut.set(f32(c, N * N));
  });
  const mmCheck = checks.matmul(f32(c, N * N));

  const feat = alloc(VECTORS * 32);
  const classes = alloc(VECTORS * 4);
  f32(feat, VECTORS * 8).set(features);
  const mlNs = measure(() => x.mlp_predict_batch(feat, VECTORS, classes));
  const mlOut = new Int32Array(VECTORS);
  const mlCopyNs = measure(() => {
    f32(feat, VECTORS * 8).set(features);
    x.mlp_predict_batch(feat, VECTORS, classes);
    mlOut.set(i32(classes, VECTORS));
  });
  const mlCheck = checks.mlp(i32(classes, VECTORS));
  return {
    maze: { kernelNs: mazeNs, copyNs: mazeCopyNs, check: mazeCheck },
    grayscale: { kernelNs: grayNs, copyNs: grayCopyNs, check: grayCheck },
    matmul: { kernelNs: mmNs, copyNs: mmCopyNs, check: mmCheck },
    inference: { kernelNs: mlNs, copyNs: mlCopyNs, check: mlCheck },
  };
}

// ---- native ----
async function benchNative(binary: string, dir: string): Promise<Record<Kernel, Timing>> {
  await writeFile(
    path.join(dir, 'maze.meta'),
    new Uint8Array(Int32Array.of(MAZE_SIDE, MAZE_SIDE, maze.start, maze.goal).buffer),
  );
  await writeFile(path.join(dir, 'maze.grid'), maze.grid);
  await writeFile(path.join(dir, 'frame.rgba'), rgba);
  await writeFile(path.join(dir, 'matmul.a'), new Uint8Array(matA.buffer));
  await writeFile(path.join(dir, 'matmul.b'), new Uint8Array(matB.buffer));
  await writeFile(path.join(dir, 'mlp.features'), new Uint8Array(features.buffer));
  const { stdout } = await run(binary, [dir, String(BUDGET_MS)]);
  return JSON.parse(stdout) as Record<Kernel, Timing>;
}

// ---- Wasmtime (the native agent's engine) ----
async function wasmtimeHarness(): Promise<string> {
  const target = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'),
    'wasmfleet',
    'agent-native',
    'target',
  );
  await run(
    'nice',
    [
      '-n',
      '10',
      'cargo',
      'build',
      '--release',
      '--locked',
      '-p',
      'wasmfleet-agent-native',
      '--example',
      'kernel_bench',
    ],
    {
      cwd: root,
      env: { ...process.env, CARGO_TARGET_DIR: target },
    },
  );
  return path.join(target, 'release', 'examples', 'kernel_bench');
}

async function benchWasmtime(binary: string, wasmFile: string, dir: string): Promise<Record<Kernel, Timing>> {
  const { stdout } = await run(binary, [wasmFile, dir, String(BUDGET_MS)]);
  return JSON.parse(stdout) as Record<Kernel, Timing>;
}

// ---- main ----
const work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-bench-compute-'));
try {
  const wasmFile = path.join(work, 'kernels.wasm');
  const nativeFile = path.join(work, 'kernels-native');
  const clang = process.env.CLANG ?? 'clang';
  const sysroot = process.env.WASI_SYSROOT ? [`--sysroot=${process.env.WASI_SYSROOT}`] : [];
  const exportsFlags = ['maze_bfs', 'gray_convert', 'matmul', 'mlp_predict_batch'].map(
    (e) => `-Wl,--export=${e}`,
  );
  try {
    await run(clang, [
      '--target=wasm32-wasi',
      ...sysroot,
      '-O2',
      '-mexec-model=reactor',
      ...INCLUDES,
      ...exportsFlags,
      '-o',
      wasmFile,
      ...KERNEL_SOURCES,
      path.join(here, 'c', 'wasm_exports.c'),
    ]);
    await run(process.env.CC ?? 'gcc', [
      '-O2',
      ...INCLUDES,
      '-o',
      nativeFile,
      ...KERNEL_SOURCES,
      path.join(here, 'c', 'native.c'),
    ]);
  } catch (error) {
    console.error(
      `building the kernels failed (needs clang with wasi-libc and gcc; see workloads/README.md):\n${(error as { stderr?: string }).stderr ?? String(error)}`,
    );
    process.exit(1);
  }
  const harness = await wasmtimeHarness().catch((error: unknown) => {
    console.error(
      `building the Wasmtime harness failed (needs cargo):\n${(error as { stderr?: string }).stderr ?? String(error)}`,
    );
    process.exit(1);
  });
  console.error(`kernels built; measuring (about ${BUDGET_MS} ms per cell)…`);
  const js = benchJs();
  const wasm = await benchWasm(wasmFile);
  const native = await benchNative(nativeFile, work);
  const wasmtime = await benchWasmtime(harness, wasmFile, work);

  const problems: string[] = [];
  for (const k of KERNELS) {
    const [a, b, c, d] = [js[k].check, wasm[k].check, native[k].check, wasmtime[k].check];
    const same = (p: number, q: number) => Math.abs(p - q) <= 1e-6 * Math.max(1, Math.abs(p));
    if (!same(a, b) || !same(a, c) || !same(a, d))
      problems.push(`${k}: js ${a}, wasm ${b}, native ${c}, wasmtime ${d}`);
  }

  const fmt = (ns: number): string =>
    ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const header = [
    'kernel',
    'JS',
    'wasm (V8)',
    'Wasmtime',
    'native C',
    'JS/wasm',
    'wasm/native',
    'Wasmtime/native',
    'Wasmtime/V8',
    'wasm+copy',
    'native+copy',
    'JS/(wasm+copy)',
    '(wasm+copy)/(native+copy)',
  ];
  const rows = KERNELS.map((k) => [
    LABEL[k],
    fmt(js[k].kernelNs),
    fmt(wasm[k].kernelNs),
    fmt(wasmtime[k].kernelNs),
    fmt(native[k].kernelNs),
    ratio(js[k].kernelNs, wasm[k].kernelNs),
    ratio(wasm[k].kernelNs, native[k].kernelNs),
    ratio(wasmtime[k].kernelNs, native[k].kernelNs),
    ratio(wasmtime[k].kernelNs, wasm[k].kernelNs),
    fmt(wasm[k].copyNs),
    fmt(native[k].copyNs),
    ratio(js[k].kernelNs, wasm[k].copyNs),
    ratio(wasm[k].copyNs, native[k].copyNs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `\nfastest of 7 batches per cell; Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), ${arch()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (problems.length > 0) console.log(`RESULTS DISAGREE:\n  ${problems.join('\n  ')}`);

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    budgetMsPerCell: BUDGET_MS,
    units: 'nanoseconds per kernel call (fastest of 7 batches, each ~budget/7 long)',
    kernels: Object.fromEntries(
      KERNELS.map((k) => [
        k,
        {
          label: LABEL[k],
          js: js[k].kernelNs,
          wasm: wasm[k].kernelNs,
          native: native[k].kernelNs,
          wasmtime: wasmtime[k].kernelNs,
          wasmtimeWithCopy: wasmtime[k].copyNs,
          wasmtimeOverNative: wasmtime[k].kernelNs / native[k].kernelNs,
          wasmtimeOverV8: wasmtime[k].kernelNs / wasm[k].kernelNs,
          wasmWithCopy: wasm[k].copyNs,
          nativeWithCopy: native[k].copyNs,
          jsOverWasm: js[k].kernelNs / wasm[k].kernelNs,
          wasmOverNative: wasm[k].kernelNs / native[k].kernelNs,
          jsOverWasmWithCopy: js[k].kernelNs / wasm[k].copyNs,
          wasmWithCopyOverNativeWithCopy: wasm[k].copyNs / native[k].copyNs,
          resultsAgree: !problems.some((p) => p.startsWith(`${k}:`)),
        },
      ]),
    ),
  };
  const out = path.join(root, 'bench', 'results', 'compute.json');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${path.relative(root, out)}`);
  if (problems.length > 0) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
