// SPDX-License-Identifier: Apache-2.0
// Mutated wasm modules through the agent's runtime. Volume goes through the cheap path, in
// process: the agent's sandbox rewrite (sandboxBinary), then compile and instantiate the way the
// worker does. A sample goes through the real path, loadFunction (a worker per module, the
// deadline watchdog, the call channel) — and on the agent's thread, rewritten to be interruptible
// (ADR 0018) — together with the hand-made hostile corpus. Promises: the
// host never crashes, every refusal is a typed error with a reason, a sandboxed memory can never
// grow past the function's limit, and the runtime keeps serving a healthy function afterwards.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it, before } from 'node:test';
import fc from 'fast-check';
import { FAILURE_REASONS, LoadError, loadFunction, type LoadedFunction } from '../../agent/src/index.ts';
import { instrumentDeadlines } from '../../agent/src/runtime/core/deadline-instrument.ts';
import { MAX_TABLE_ELEMENTS } from '../../agent/src/runtime/limits.ts';
import { SandboxViolation, WASM_PAGE, sandboxBinary } from '../../agent/src/runtime/wasm-binary.ts';
import { fixture, hostile } from '../../agent/test/helpers/wasm.ts';
import { REGRESSION_SEEDS, check, runs } from './support/budget.ts';
import { Tally } from './support/tally.ts';
import { hasStartSection, mutatedModule } from './support/wasm-mutate.ts';

const MEMORY_BYTES = 2 * 1024 * 1024; // 32 pages: small, so "past the cap" is cheap to test
const CAP_PAGES = MEMORY_BYTES / WASM_PAGE;
const EXAMPLES = [
  'temp-alert/build/temp-alert',
  'anomaly-zscore/build/anomaly',
  'maze/build/maze',
  'grayscale/build/grayscale',
  'ml-inference/build/inference',
];
const HOSTILE_DIR = new URL('../../agent/test/fixtures/hostile/', import.meta.url);
const REGRESSIONS = new URL('./regressions/wasm/', import.meta.url);
const enc = new TextEncoder();

let seeds: Uint8Array[] = [];
/** The smallest component the agent recognises: the echo module in a component's core-module section. */
let component: Uint8Array;

function wrapInComponent(core: Uint8Array): Uint8Array {
  const size: number[] = [];
  let rest = core.length;
  do {
    size.push((rest & 0x7f) | (rest > 0x7f ? 0x80 : 0));
    rest >>>= 7;
  } while (rest > 0);
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x01, ...size, ...core]);
}

const limits = { memoryBytes: MEMORY_BYTES, timeoutMs: 200 };
/** A deadline short enough that 'auto' runs the function on the agent's thread (ADR 0018). */
const inlineLimits = { memoryBytes: MEMORY_BYTES, timeoutMs: 50 };

/** What the worker does before the first call, minus the worker: compile, link, instantiate. */
function cheapPath(bytes: Uint8Array): string | undefined {
  let sandboxed: Uint8Array;
  try {
    sandboxed = sandboxBinary(bytes, { memoryBytes: MEMORY_BYTES, tableElements: MAX_TABLE_ELEMENTS });
  } catch (error) {
    assert.ok(
      error instanceof SandboxViolation,
      `sandboxBinary threw ${String(error)}, not a SandboxViolation`,
    );
    assert.ok(['InvalidModule', 'OutOfMemory'].includes(error.reason));
    assert.ok(error.message.length > 10);
    return `sandbox: ${error.reason}: ${error.message}`;
  }
  // Rewriting limits must never turn a valid module into an invalid one.
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(sandboxed);
  } catch (error) {
    assert.ok(error instanceof WebAssembly.CompileError, `compiling threw ${String(error)}`);
    // Rewriting limits must never turn a valid module into an invalid one.
    assert.ok(!WebAssembly.validate(bytes), `the sandbox broke a valid module: ${error.message}`);
    return `compile: ${error.message.replace(/^WebAssembly\.Module\(\): /, '')}`;
  }
  // The deadline rewrite (ADR 0018) either refuses a valid module or keeps it valid.
  const instrumented = instrumentDeadlines(sandboxed);
  if (instrumented.ok)
    assert.ok(WebAssembly.validate(instrumented.bytes), 'the deadline rewrite broke a valid module');
  else assert.ok(instrumented.reason.length > 10, `unclear refusal "${instrumented.reason}"`);
  const imports: Record<string, Record<string, () => number>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    // Only function imports from the ABI can link (the agent refuses the rest as MissingImport).
    if (imp.kind !== 'function' || !['wasmfleet_v1', 'wasi_snapshot_preview1'].includes(imp.module))
      return 'link: MissingImport';
    (imports[imp.module] ??= {})[imp.name] = () => 0;
  }
  if (hasStartSection(sandboxed)) return undefined; // runs guest code: the worker path's job
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (error) {
    return `instantiate: ${(error as Error).constructor.name}`;
  }
  for (const value of Object.values(instance.exports)) {
    if (!(value instanceof WebAssembly.Memory)) continue;
    const pages = value.buffer.byteLength / WASM_PAGE;
    assert.ok(pages <= CAP_PAGES, `memory starts at ${pages} pages, cap ${CAP_PAGES}`);
    // The cap is the maximum: growing past it must fail inside the guest's memory.
    assert.throws(() => value.grow(CAP_PAGES - pages + 1), RangeError, 'memory grew past the sandbox cap');
  }
  return undefined;
}

/** Loads through the real runtime; returns the failure reason, or calls it and closes it. */
async function workerPath(bytes: Uint8Array, tally: Tally, l = limits): Promise<void> {
  let fn: LoadedFunction;
  try {
    fn = await loadFunction(bytes, { outputs: ['out/1'], config: {}, limits: l });
  } catch (error) {
    assert.ok(error instanceof LoadError, `loadFunction rejected with ${String(error)}, not a LoadError`);
    assert.ok(FAILURE_REASONS.includes(error.reason), `unknown reason ${error.reason}`);
    assert.ok(error.message.length > 10, `unclear message "${error.message}"`);
    tally.record(`load: ${error.reason}: ${error.message}`);
    return;
  }
  try {
    for (const payload of ['x', '{"v":1}', '']) {
      const r = await fn.invoke({
        topic: 'sensors/n/t',
        payload: enc.encode(payload),
        timestampMs: Date.now(),
      });
      if (!r.ok) {
        assert.ok(FAILURE_REASONS.includes(r.reason), `unknown call failure reason ${r.reason}`);
        assert.ok(r.message.length > 0);
      }
      tally.record(r.ok ? undefined : `call: ${r.reason}: ${r.message}`);
    }
  } finally {
    await fn.close();
  }
}

async function healthyStillWorks(): Promise<void> {
  const echo = await fixture('healthy/echo.wat');
  const fn = await loadFunction(echo, { outputs: ['out/1'], config: {}, limits });
  try {
    const r = await fn.invoke({ topic: 't', payload: enc.encode('still here'), timestampMs: 0 });
    assert.ok(r.ok, 'the runtime no longer serves a healthy function');
    assert.equal(new TextDecoder().decode(r.outputs[0]?.payload), 'still here');
  } finally {
    await fn.close();
  }
}

describe('fuzz: wasm modules through the agent runtime', () => {
  before(async () => {
    seeds = [await fixture('healthy/echo.wat'), await fixture('healthy/features.wat')];
    component = wrapInComponent(seeds[0] ?? new Uint8Array());
    for (const e of EXAMPLES) {
      seeds.push(
        new Uint8Array(await readFile(new URL(`../../workloads/examples/${e}.wasm`, import.meta.url))),
      );
    }
  });

  for (const seed of [undefined, ...REGRESSION_SEEDS]) {
    const label = seed === undefined ? 'fresh seed' : `seed ${seed}`;
    const scale = seed === undefined ? 1 : 0.1;
    it(`cheap path: sandbox, compile, link, instantiate (${label})`, async (t) => {
      const tally = new Tally('wasm cheap path', seed);
      await check(
        'wasm cheap path',
        fc.property(mutatedModule([...seeds, component]), ({ bytes }) => {
          tally.record(cheapPath(bytes));
        }),
        { numRuns: runs(8000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });
  }

  it('worker path: a sample of mutants loaded and called through loadFunction', async (t) => {
    const tally = new Tally('wasm worker path');
    // Small seeds only: each load is a worker; the examples are covered by the cheap path.
    const small = seeds.slice(0, 3);
    await check(
      'wasm worker path',
      fc.asyncProperty(mutatedModule(small), async ({ bytes }) => {
        await workerPath(bytes, tally);
      }),
      { numRuns: runs(100) },
    );
    await healthyStillWorks();
    tally.report((s) => t.diagnostic(s));
  });

  it("inline path: a sample of mutants run on the agent's thread through loadFunction", async (t) => {
    const tally = new Tally('wasm inline path');
    await check(
      'wasm inline path',
      fc.asyncProperty(mutatedModule(seeds.slice(0, 3)), async ({ bytes }) => {
        await workerPath(bytes, tally, inlineLimits);
      }),
      { numRuns: runs(300) },
    );
    await healthyStillWorks();
    tally.report((s) => t.diagnostic(s));
  });

  it('component path: mutated components through loadFunction (jco) end in a typed error', async (t) => {
    const tally = new Tally('wasm component path');
    await check(
      'wasm component path',
      fc.asyncProperty(mutatedModule([component]), async ({ bytes }) => {
        await workerPath(bytes, tally);
      }),
      { numRuns: runs(12) },
    );
    await workerPath(component, tally);
    await healthyStillWorks();
    tally.report((s) => t.diagnostic(s));
  });

  it('hostile corpus and named regressions: each a typed failure, the runtime still usable', async (t) => {
    const tally = new Tally('wasm hostile corpus');
    const cases: { name: string; bytes: Uint8Array }[] = [];
    for (const entry of await readdir(HOSTILE_DIR, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const files = await readdir(new URL(`${entry.name}/`, HOSTILE_DIR));
      if (files.some((f) => f.startsWith('module.')))
        cases.push({ name: entry.name, bytes: await hostile(entry.name) });
    }
    for (const entry of await readdir(REGRESSIONS, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory())
        cases.push({
          name: entry.name,
          bytes: new Uint8Array(await readFile(new URL(`${entry.name}/module.wasm`, REGRESSIONS))),
        });
    }
    assert.ok(cases.length >= 8, `only ${cases.length} hostile modules found`);
    for (const c of cases) {
      await workerPath(c.bytes, tally);
      await workerPath(c.bytes, tally, inlineLimits);
      tally.record(cheapPath(c.bytes));
    }
    await healthyStillWorks();
    tally.report((s) => t.diagnostic(`${s}\n  cases: ${cases.map((c) => c.name).join(', ')}`));
  });
});
