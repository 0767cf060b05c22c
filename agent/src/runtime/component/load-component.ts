// SPDX-License-Identifier: Apache-2.0
// The component runtime behind loadFunction: a WebAssembly component (already sandboxed: every
// embedded core module's memory and table maxima rewritten by wasm-binary.ts) is transpiled by
// jco once per digest and jco version — kept on disk (transpile-cache.ts), so a restart or a
// second agent only reads it back — then run in its own worker thread. Calls go one at a time; a
// deadline overrun, a trap or a crashed worker replaces the worker before the next call, from the
// compiled core modules this process keeps, so a replacement only instantiates.
import { COMPILE_TIMEOUT_MS, initTimeoutMs } from '../limits.ts';
import { LoadError } from '../errors.ts';
import type { FunctionMessage, InvokeResult, LoadOptions, LoadedFunction } from '../types.ts';
import { ComponentSlot, SlotStartFailure, type SlotSource } from './component-slot.ts';
import { slotOptions } from '../slot-options.ts';
import { TranspileFailure, componentKey, locateJco, transpiled } from './transpile-cache.ts';

export { cacheStats, configureComponentCache } from './transpile-cache.ts';

/** Compiled components kept in this process, by cache key (a 12 MB JS component compiles in ~0.3 s). */
const COMPILED_ENTRIES = 8;
const compiled = new Map<string, SlotSource>();

function remember(key: string, source: SlotSource): void {
  compiled.delete(key);
  compiled.set(key, source);
  if (compiled.size > COMPILED_ENTRIES) {
    const oldest = compiled.keys().next().value;
    if (oldest !== undefined) compiled.delete(oldest);
  }
}

/** How the last load went (tests, benchmarks, status). */
export interface ComponentLoadStats {
  /** 'memory': compiled modules reused; 'disk': transpiled output read back; 'transpiled': jco ran. */
  readonly source: 'memory' | 'disk' | 'transpiled';
  readonly transpileMs: number;
  readonly readMs: number;
  readonly compileMs: number;
  readonly instantiateMs: number;
  readonly totalMs: number;
}

export class ComponentFunction implements LoadedFunction {
  readonly thread = 'worker' as const;
  readonly kind = 'component' as const;
  readonly stats: ComponentLoadStats;
  readonly #options: LoadOptions;
  readonly #source: SlotSource;
  #slot: ComponentSlot | undefined;
  #replacing: Promise<ComponentSlot> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: LoadOptions, source: SlotSource, slot: ComponentSlot, stats: ComponentLoadStats) {
    this.#options = options;
    this.#source = source;
    this.#slot = slot;
    this.stats = stats;
  }

  invoke(input: FunctionMessage): Promise<InvokeResult> {
    // One call at a time, in arrival order: the guest is single-threaded and its state ordered.
    const run = this.#queue.then(() => this.#invoke(input));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #invoke(input: FunctionMessage): Promise<InvokeResult> {
    if (this.#closed) return { ok: false, reason: 'Trap', message: 'the function was closed' };
    let slot: ComponentSlot;
    try {
      slot = await this.#liveSlot();
    } catch (error) {
      if (error instanceof SlotStartFailure)
        return { ok: false, reason: error.reason, message: error.message };
      throw error;
    }
    const { result, poisoned } = await slot.call(input, this.#options.limits.timeoutMs);
    if (poisoned && this.#slot === slot) await this.#retire(slot);
    return result;
  }

  async #retire(slot: ComponentSlot): Promise<void> {
    this.#slot = undefined;
    await slot.terminate();
    // Warm the replacement now, so the next input does not wait for it.
    if (!this.#closed) void this.#liveSlot().catch(() => undefined);
  }

  async #liveSlot(): Promise<ComponentSlot> {
    if (this.#slot && !this.#slot.exited) return this.#slot;
    this.#replacing ??= (async () => {
      const slot = new ComponentSlot(this.#source, slotOptions(this.#options));
      try {
        await slot.start(COMPILE_TIMEOUT_MS + initTimeoutMs(this.#options.limits.timeoutMs));
      } finally {
        this.#replacing = undefined;
      }
      if (this.#closed) await slot.terminate();
      else this.#slot = slot;
      return slot;
    })();
    return this.#replacing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slot = this.#slot;
    this.#slot = undefined;
    await slot?.terminate();
    const replacing = await this.#replacing?.catch(() => undefined);
    await replacing?.terminate();
  }
}

/** The ComponentLoader registered with loadFunction. Rejects with a LoadError. */
export async function loadComponent(sandboxed: Uint8Array, options: LoadOptions): Promise<ComponentFunction> {
  const t0 = performance.now();
  const key = componentKey(sandboxed);
  let source = compiled.get(key);
  let origin: ComponentLoadStats['source'] = 'memory';
  let transpileMs = 0;
  let readMs = 0;
  if (!source) {
    let jco: Awaited<ReturnType<typeof locateJco>>;
    let t: Awaited<ReturnType<typeof transpiled>>;
    try {
      jco = await locateJco();
      t = await transpiled(sandboxed, key);
    } catch (error) {
      if (error instanceof TranspileFailure)
        throw new LoadError(error.reason, error.message, { cause: error });
      throw new LoadError(
        'InvalidModule',
        `the component could not be prepared: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    source = { js: t.js, coreModules: t.coreModules, imports: t.imports, wasiShimUrl: jco.wasiShimUrl };
    origin = t.source;
    transpileMs = t.transpileMs;
    readMs = t.readMs;
  }
  const slot = new ComponentSlot(source, slotOptions(options));
  let ready;
  try {
    ready = await slot.start(COMPILE_TIMEOUT_MS + initTimeoutMs(options.limits.timeoutMs));
  } catch (error) {
    if (error instanceof SlotStartFailure) throw new LoadError(error.reason, error.message, { cause: error });
    throw new LoadError('InitFailed', 'the component could not be started', { cause: error });
  }
  // Keep the compiled core modules, not the bytes: replacements and later loads only instantiate.
  if (ready.compiled) source = { ...source, coreModules: ready.compiled };
  remember(key, source);
  const stats: ComponentLoadStats = {
    source: origin,
    transpileMs,
    readMs,
    compileMs: ready.compileMs,
    instantiateMs: ready.instantiateMs,
    totalMs: performance.now() - t0,
  };
  return new ComponentFunction(options, source, slot, stats);
}
