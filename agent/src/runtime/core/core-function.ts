// A loaded core module: one worker at a time, calls strictly one after another, and a worker
// that was terminated (deadline overrun) or died is replaced from the cached compiled module
// before the next call. Its linear memory starts fresh; state that must survive belongs in
// state_set.
import type { FunctionMessage, InvokeResult, LoadOptions, LoadedFunction } from '../types.ts';
import { COMPILE_TIMEOUT_MS, initTimeoutMs } from '../limits.ts';
import { StartFailure, WorkerSlot, type SlotStarted } from './worker-slot.ts';

export interface CoreStart {
  readonly fn: CoreFunction;
  readonly started: SlotStarted;
}

export class CoreFunction implements LoadedFunction {
  readonly kind = 'core' as const;
  readonly #options: LoadOptions;
  readonly #module: WebAssembly.Module;
  #slot: WorkerSlot | undefined;
  #replacing: Promise<WorkerSlot> | undefined;
  #busy = false;
  #waiters: (() => void)[] = [];
  #closed = false;
  /** Compile and instantiate timings of the first start (benchmarks, status). */
  readonly startStats: SlotStarted;

  private constructor(
    options: LoadOptions,
    module: WebAssembly.Module,
    slot: WorkerSlot,
    stats: SlotStarted,
  ) {
    this.startStats = stats;
    this.#options = options;
    this.#module = module;
    this.#slot = slot;
  }

  /** Starts the first worker; rejects with StartFailure. */
  static async start(
    options: LoadOptions,
    source: { module?: WebAssembly.Module; bytes?: Uint8Array },
  ): Promise<CoreStart> {
    const slot = new WorkerSlot({ ...slotOptions(options), ...source });
    const started = await slot.start(COMPILE_TIMEOUT_MS, initTimeoutMs(options.limits.timeoutMs));
    const module = started.module ?? source.module;
    if (!module) throw new StartFailure('InvalidModule', 'the worker did not return the compiled module');
    return { fn: new CoreFunction(options, module, slot, started), started };
  }

  invoke(input: FunctionMessage): Promise<InvokeResult> {
    const slot = this.#slot;
    if (!this.#busy && slot && !slot.exited && !this.#closed) {
      // Fast path: nothing queued and a live worker. Most calls complete synchronously here.
      this.#busy = true;
      let result: InvokeResult | Promise<InvokeResult>;
      try {
        result = slot.invoke(input, this.#options.limits.timeoutMs);
      } catch (error) {
        this.#release();
        return Promise.reject(new Error('invoking the function failed', { cause: error }));
      }
      if (!(result instanceof Promise)) {
        this.#release();
        return Promise.resolve(result);
      }
      return result.finally(() => this.#afterCall(slot));
    }
    return this.#invokeQueued(input);
  }

  async #invokeQueued(input: FunctionMessage): Promise<InvokeResult> {
    await this.#acquire();
    let slot: WorkerSlot | undefined;
    try {
      if (this.#closed) return { ok: false, reason: 'Trap', message: 'the function was closed' };
      slot = await this.#liveSlot();
      return await slot.invoke(input, this.#options.limits.timeoutMs);
    } catch (error) {
      if (error instanceof StartFailure) return { ok: false, reason: error.reason, message: error.message };
      throw error;
    } finally {
      if (slot) this.#afterCall(slot);
      else this.#release();
    }
  }

  #afterCall(slot: WorkerSlot): void {
    if (slot.exited && this.#slot === slot) {
      this.#slot = undefined;
      if (!this.#closed) void this.#liveSlot().catch(() => undefined); // warm the replacement now
    }
    this.#release();
  }

  async #liveSlot(): Promise<WorkerSlot> {
    if (this.#slot && !this.#slot.exited) return this.#slot;
    this.#replacing ??= (async () => {
      const slot = new WorkerSlot({ ...slotOptions(this.#options), module: this.#module });
      try {
        await slot.start(COMPILE_TIMEOUT_MS, initTimeoutMs(this.#options.limits.timeoutMs));
      } finally {
        this.#replacing = undefined;
      }
      if (this.#closed) {
        await slot.terminate();
      } else {
        this.#slot = slot;
      }
      return slot;
    })();
    return this.#replacing;
  }

  async #acquire(): Promise<void> {
    if (!this.#busy) {
      this.#busy = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#busy = false;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slot = this.#slot;
    this.#slot = undefined;
    await slot?.terminate();
    await this.#replacing?.catch(() => undefined);
  }
}

function slotOptions(options: LoadOptions) {
  return {
    outputs: options.outputs,
    config: options.config,
    memoryBytes: options.limits.memoryBytes,
    ...(options.state ? { state: options.state } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
}
