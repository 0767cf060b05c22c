// SPDX-License-Identifier: Apache-2.0
// loadFunction: the one entry point of the runtimes. It refuses oversized and malformed modules,
// rewrites memory and table maxima (wasm-binary.ts) before anything is compiled, and dispatches
// by header to the core-module or the component runtime. A core module runs on the agent's own
// thread when it can be made interruptible (ADR 0018), else in a worker of its own. Compiled
// core modules are cached by the digest of their sandboxed bytes, so a restart or a second
// instance only instantiates.
import { createHash } from 'node:crypto';
import { formatBytes } from '@wasmfleet/api';
import { CoreFunction } from './core/core-function.ts';
import { instrumentDeadlines } from './core/deadline-instrument.ts';
import { InlineFunction, compileInline } from './core/inline-function.ts';
import { StartFailure } from './core/worker-slot.ts';
import { LoadError } from './errors.ts';
import { DEFAULT_MAX_MODULE_BYTES, MAX_TABLE_ELEMENTS } from './limits.ts';
import type { LoadFunction, LoadOptions, LoadedFunction } from './types.ts';
import { SandboxViolation, binaryKind, sandboxBinary } from './wasm-binary.ts';

const COMPILED_CACHE_ENTRIES = 64;
const compiled = new Map<string, WebAssembly.Module>();
/**
 * Instrumented and compiled for the agent's thread — or why the rewriter refused — by the digest
 * of the sandboxed bytes.
 */
const inlineModules = new Map<
  string,
  { readonly module: WebAssembly.Module; readonly hasStart: boolean } | { readonly refused: string }
>();
/** The longest call deadline a function on the agent's thread may hold it for, once. */
export const INLINE_MAX_TIMEOUT_MS = 100;

type ComponentLoader = (sandboxed: Uint8Array, options: LoadOptions) => Promise<LoadedFunction>;
/** The component runtime, imported on first use (it pulls in jco, which core-only users skip). */
let componentLoader: ComponentLoader | undefined;

export const loadFunction: LoadFunction = async (bytes, options) => {
  const maxBytes = options.limits.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  if (bytes.length > maxBytes) {
    throw new LoadError(
      'ModuleTooLarge',
      `the module is ${formatBytes(bytes.length)}; the limit is ${formatBytes(maxBytes)}`,
    );
  }
  let sandboxed: Uint8Array;
  let kind: 'core' | 'component';
  try {
    kind = binaryKind(bytes);
    sandboxed = sandboxBinary(bytes, {
      memoryBytes: options.limits.memoryBytes,
      tableElements: MAX_TABLE_ELEMENTS,
    });
  } catch (error) {
    if (error instanceof SandboxViolation) throw new LoadError(error.reason, error.message, { cause: error });
    throw error;
  }
  if (kind === 'component') {
    // Imported on the first component: core-only devices never pay for loading jco.
    componentLoader ??= await import('./component/index.ts').then(
      (m) => m.loadComponent,
      (error: unknown) => {
        throw new LoadError('InvalidModule', 'this agent was built without the component runtime', {
          cause: error,
        });
      },
    );
    return componentLoader(sandboxed, options);
  }
  const key = createHash('sha256').update(sandboxed).digest('hex');
  try {
    if (inlineEligible(options)) {
      const inline = await loadInline(key, sandboxed, options);
      if (inline) return inline;
    }
    const module = compiled.get(key);
    const { fn, started } = await CoreFunction.start(options, module ? { module } : { bytes: sandboxed });
    if (!module && started.module) remember(key, started.module);
    return fn;
  } catch (error) {
    if (error instanceof StartFailure) throw new LoadError(error.reason, error.message, { cause: error });
    throw new LoadError('InitFailed', 'the function could not be started', { cause: error });
  }
};

/**
 * A function may run on the agent's thread when each call can hold that thread for at most one
 * short deadline: the first overrun moves it into a worker (inline-function.ts).
 */
function inlineEligible(options: LoadOptions): boolean {
  return (options.isolation ?? 'auto') === 'auto' && options.limits.timeoutMs <= INLINE_MAX_TIMEOUT_MS;
}

/** Starts the function on this thread, or undefined when its module cannot be made interruptible. */
async function loadInline(
  key: string,
  sandboxed: Uint8Array,
  options: LoadOptions,
): Promise<LoadedFunction | undefined> {
  let entry = inlineModules.get(key);
  if (!entry) {
    const instrumented = instrumentDeadlines(sandboxed);
    entry = instrumented.ok
      ? await compileInstrumented(instrumented.bytes, instrumented.hasStart, sandboxed)
      : { refused: instrumented.reason };
    inlineModules.set(key, entry);
    if (inlineModules.size > COMPILED_CACHE_ENTRIES) {
      const oldest = inlineModules.keys().next().value;
      if (oldest !== undefined) inlineModules.delete(oldest);
    }
  }
  if ('refused' in entry) {
    options.log?.('info', `runs in its own worker thread: ${entry.refused}`);
    return undefined;
  }
  return InlineFunction.start(options, { ...entry, workerBytes: sandboxed });
}

/**
 * Compiles the rewritten module. If it does not compile, the worker path compiles the original
 * instead: it reports an invalid module with offsets the author can find, and should the original
 * be valid (a bug of the rewriter) the function still runs, in a worker.
 */
async function compileInstrumented(
  bytes: Uint8Array,
  hasStart: boolean,
  original: Uint8Array,
): Promise<
  { readonly module: WebAssembly.Module; readonly hasStart: boolean } | { readonly refused: string }
> {
  try {
    return { module: await compileInline(bytes), hasStart };
  } catch (error) {
    if (!(error instanceof StartFailure) || error.reason !== 'InvalidModule') throw error;
    return {
      refused: WebAssembly.validate(original)
        ? `the deadline rewrite of this valid module does not compile (please report it): ${error.message}`
        : 'the module is not valid',
    };
  }
}

function remember(key: string, module: WebAssembly.Module): void {
  compiled.set(key, module);
  if (compiled.size > COMPILED_CACHE_ENTRIES) {
    const oldest = compiled.keys().next().value;
    if (oldest !== undefined) compiled.delete(oldest);
  }
}
