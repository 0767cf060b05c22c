// SPDX-License-Identifier: Apache-2.0
// A loaded core module: one worker at a time, calls strictly one after another, and a worker
// that was terminated (deadline overrun) or died is replaced from the cached compiled module
// before the next call. Its linear memory starts fresh; state that must survive belongs in
// state_set.
import type { FunctionMessage, InvokeResult, LoadOptions, LoadedFunction } from '../types.ts';
import { COMPILE_TIMEOUT_MS, initTimeoutMs } from '../limits.ts';
import { StartFailure, WorkerSlot, type SlotStarted } from './worker-slot.ts';
import { slotOptions } from '../slot-options.ts';

const CLOSED: InvokeResult = { ok: false, reason: 'Trap', message: 'the function was closed' };

export interface CoreStart {
  readonly fn: CoreFunction;
  readonly started: SlotStarted;
}

export class CoreFunction implements LoadedFunction {
  readonly kind = 'core' as const;
  readonly thread = 'worker' as const;
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
    const answered = this.invokeBatch([input]);
    if (answered instanceof Promise) return answered.then((a) => a[0] ?? CLOSED);
    return Promise.resolve(answered[0] ?? CLOSED);
  }

  /**
   * Runs inputs in order, one answer per input. Batches go to the worker in as few hand-offs as
   * the channel allows; a deadline overrun fails only the input that overran, and the rest run
   * on a fresh worker. Synchronous when nothing is queued and the worker answers at once.
   */
  invokeBatch(inputs: readonly FunctionMessage[]): InvokeResult[] | Promise<InvokeResult[]> {
    if (inputs.length === 0) return [];
    const slot = this.#slot;
    if (this.#busy || !slot || slot.exited || this.#closed) return this.#invokeQueued(inputs);
    // Fast path: nothing queued and a live worker.
    this.#busy = true;
    const results: InvokeResult[] = [];
    let from = 0;
    // A call, not the property: the worker can exit during a hand-off, which narrowing cannot see.
    const alive = (): boolean => !slot.exited;
    try {
      while (from < inputs.length && alive()) {
        const answered = slot.invokeBatch(inputs, from, this.#options.limits.timeoutMs);
        if (answered instanceof Promise) return this.#continue(inputs, results, from, answered);
        for (const a of answered) results.push(a);
        from += answered.length;
      }
    } catch (error) {
      this.#release();
      return Promise.reject(new Error('invoking the function failed', { cause: error }));
    }
    if (from < inputs.length) return this.#continue(inputs, results, from, undefined);
    this.#afterCall();
    return results;
  }

  async #invokeQueued(inputs: readonly FunctionMessage[]): Promise<InvokeResult[]> {
    await this.#acquire();
    return this.#continue(inputs, [], 0, undefined);
  }

  /** Finishes a batch asynchronously; the caller holds the busy flag, which this releases. */
  async #continue(
    inputs: readonly FunctionMessage[],
    results: InvokeResult[],
    start: number,
    pending: Promise<InvokeResult[]> | undefined,
  ): Promise<InvokeResult[]> {
    let from = start;
    try {
      if (pending) {
        const answered = await pending;
        for (const a of answered) results.push(a);
        from += answered.length;
      }
      while (from < inputs.length) {
        if (this.#closed) break;
        let slot: WorkerSlot;
        try {
          slot = await this.#liveSlot();
        } catch (error) {
          if (!(error instanceof StartFailure)) throw error;
          while (from < inputs.length)
            results[from++] = { ok: false, reason: error.reason, message: error.message };
          break;
        }
        const answered = await slot.invokeBatch(inputs, from, this.#options.limits.timeoutMs);
        for (const a of answered) results.push(a);
        from += answered.length;
      }
      while (results.length < inputs.length) results.push(CLOSED);
      return results;
    } finally {
      this.#afterCall();
    }
  }

  #afterCall(): void {
    const slot = this.#slot;
    if (slot?.exited) {
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
