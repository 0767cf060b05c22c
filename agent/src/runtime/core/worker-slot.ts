// SPDX-License-Identifier: Apache-2.0
// The main thread's side of one function worker: starts it, hands it batches of calls through
// the shared channel and is its watchdog. A hand-off first waits synchronously (Atomics.wait, a
// few ms at most: core-module calls take micro-seconds, so the common case costs no event-loop
// turn at all), then asynchronously (Atomics.waitAsync) until the deadline of the input the
// worker is running, and on overrun terminates the worker.
import { Worker } from 'node:worker_threads';
import type { FailureReason, FunctionMessage, InvokeResult } from '../types.ts';
import {
  CTRL,
  OP,
  Reader,
  STATE,
  TopicBytes,
  Writer,
  controlViews,
  createChannel,
  readAnswers,
  spinUntilChanged,
  type ChannelBuffers,
  type WorkerInit,
  type WorkerStartMessage,
} from './channel.ts';
import { workerEntry } from './worker-entry.ts';
import { ReasonError } from '../errors.ts';
import type { SlotOptions } from '../slot-options.ts';

/** How long a call may block the main thread before the wait turns asynchronous. */
const SYNC_WAIT_MS = 2;
/** Polls this long before sleeping: most core-module calls finish faster than a futex wake-up. */
const SPIN_MAIN_US = 30;

export interface WorkerSlotOptions extends SlotOptions {
  readonly module?: WebAssembly.Module;
  readonly bytes?: Uint8Array;
}

export interface SlotStarted {
  readonly module: WebAssembly.Module | undefined;
  readonly compileMs: number;
  readonly instantiateUs: number;
}

export class StartFailure extends ReasonError<FailureReason> {
  override readonly name = 'StartFailure';
}

const decoder = new TextDecoder();

export class WorkerSlot {
  readonly #worker: Worker;
  readonly #channel: ChannelBuffers;
  readonly #ctrl: Int32Array;
  readonly #startedAt: Float64Array;
  readonly #request: Writer;
  readonly #response: Reader;
  readonly #options: WorkerSlotOptions;
  readonly #topics = new TopicBytes();
  #exited = false;
  #exitListeners: (() => void)[] = [];
  /** Settles when the worker is gone (a dead worker never writes the state word again). */
  readonly #gone: Promise<void>;

  constructor(options: WorkerSlotOptions) {
    this.#options = options;
    this.#channel = createChannel();
    const views = controlViews(this.#channel.ctrl);
    this.#ctrl = views.words;
    this.#startedAt = views.startedAt;
    this.#request = new Writer(this.#channel.request);
    this.#response = new Reader(this.#channel.response);
    const init: WorkerInit = {
      channel: this.#channel,
      outputs: options.outputs,
      config: options.config,
      memoryBytes: options.memoryBytes,
      ...(options.module ? { module: options.module } : { bytes: options.bytes ?? new Uint8Array() }),
    };
    this.#worker = new Worker(workerEntry(), {
      workerData: init,
      env: {}, // the guest cannot see the agent's environment, not even through a bug of ours
      stdout: false,
      stderr: false,
      // Bounds the worker's JS heap; wasm memory is capped by rewriting the module instead.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4, stackSizeMb: 4 },
    });
    this.#worker.unref();
    this.#worker.on('error', () => undefined); // reported through 'exit' and the watchdog
    this.#gone = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        this.#exited = true;
        for (const l of this.#exitListeners) l();
        this.#exitListeners = [];
        resolve();
      });
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Waits for compile + instantiate (bounded by compileTimeoutMs), then runs the guest's init. */
  async start(compileTimeoutMs: number, initTimeoutMs: number): Promise<SlotStarted> {
    const started = await new Promise<WorkerStartMessage>((resolve) => {
      const timer = setTimeout(() => {
        resolve({
          type: 'failed',
          reason: 'CompileTimeout',
          message: `compiling the module took longer than ${compileTimeoutMs} ms`,
        });
      }, compileTimeoutMs);
      this.#worker.once('message', (m: WorkerStartMessage) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.#exitListeners.push(() => {
        clearTimeout(timer);
        resolve({
          type: 'failed',
          reason: 'InvalidModule',
          message: 'the worker exited while loading the module',
        });
      });
    });
    if (started.type === 'failed') {
      await this.terminate();
      throw new StartFailure(started.reason, started.message);
    }
    Atomics.store(this.#ctrl, CTRL.op, OP.init);
    Atomics.store(this.#ctrl, CTRL.count, 1);
    const answered = await this.#handOff(1, initTimeoutMs);
    const result = answered[0] ?? { ok: false, reason: 'Trap', message: 'no answer' };
    if (!result.ok) {
      await this.terminate();
      throw new StartFailure(
        result.reason === 'Timeout' ? 'InitFailed' : result.reason,
        `starting the function failed: ${result.message}`,
      );
    }
    return { module: started.module, compileMs: started.compileMs, instantiateUs: started.instantiateUs };
  }

  /**
   * Runs inputs[from…] in one hand-off: as many as fit the channel. Returns the answers of a
   * prefix (at least one input): the caller sends the rest again. After a deadline overrun the
   * last answer is the Timeout and the worker is gone. Synchronous when the worker answers
   * within SYNC_WAIT_MS.
   */
  invokeBatch(
    inputs: readonly FunctionMessage[],
    from: number,
    timeoutMs: number,
  ): InvokeResult[] | Promise<InvokeResult[]> {
    if (this.#exited) return [{ ok: false, reason: 'Trap', message: 'the function worker is not running' }];
    const w = this.#request;
    w.pos = 0;
    let count = 0;
    for (let i = from; i < inputs.length; i++) {
      const input = inputs[i];
      if (!input) break;
      const topic = this.#topics.get(input.topic);
      if (!w.reserve(topic.length + input.payload.length + 16)) break;
      w.bytes(topic);
      w.bytes(input.payload);
      w.f64(input.timestampMs);
      count++;
    }
    if (count === 0) {
      return [
        {
          ok: false,
          reason: 'OutputRejected',
          message: `the input of ${inputs[from]?.payload.length ?? 0} bytes is too large for the function channel`,
        },
      ];
    }
    Atomics.store(this.#ctrl, CTRL.op, OP.handle);
    Atomics.store(this.#ctrl, CTRL.count, count);
    return this.#handOff(count, timeoutMs);
  }

  #handOff(count: number, timeoutMs: number): InvokeResult[] | Promise<InvokeResult[]> {
    const ctrl = this.#ctrl;
    Atomics.store(ctrl, CTRL.done, 0);
    Atomics.store(ctrl, CTRL.progress, 0);
    // The worker overwrites this when it begins each input; until then the clock runs from now.
    this.#startedAt[0] = Date.now();
    const syncUntil = performance.now() + Math.min(SYNC_WAIT_MS, timeoutMs);
    Atomics.store(ctrl, CTRL.state, STATE.request);
    Atomics.notify(ctrl, CTRL.state);
    for (;;) {
      const state = Atomics.load(ctrl, CTRL.state);
      if (state === STATE.response) return this.#readAnswers(Atomics.load(ctrl, CTRL.done));
      if (state === STATE.hostCall) {
        this.#serveHostCall();
        continue;
      }
      const now = performance.now();
      if (now >= syncUntil) return this.#handOffAsync(count, timeoutMs);
      if (spinUntilChanged(ctrl, state, SPIN_MAIN_US)) continue;
      Atomics.wait(ctrl, CTRL.state, state, syncUntil - now);
    }
  }

  async #handOffAsync(count: number, timeoutMs: number): Promise<InvokeResult[]> {
    const ctrl = this.#ctrl;
    for (;;) {
      const state = Atomics.load(ctrl, CTRL.state);
      if (state === STATE.response) return this.#readAnswers(Atomics.load(ctrl, CTRL.done));
      if (state === STATE.hostCall) {
        this.#serveHostCall();
        continue;
      }
      // Every input has its own deadline, counted from when the worker began it.
      const remaining = (this.#startedAt[0] ?? 0) + timeoutMs - Date.now();
      if (remaining <= 0 || this.#exited) {
        const exited = this.#exited;
        await this.terminate();
        // Answers the worker completed before it stopped are valid; the one it was running fails.
        const answers = this.#readAnswers(Math.min(count, Atomics.load(ctrl, CTRL.done)));
        answers.push(
          exited
            ? { ok: false, reason: 'Trap', message: 'the function worker exited during the call' }
            : {
                ok: false,
                reason: 'Timeout',
                message: `the call did not finish within its ${timeoutMs} ms deadline; the function was stopped`,
              },
        );
        return answers;
      }
      const wait = Atomics.waitAsync(ctrl, CTRL.state, state, remaining + 1);
      if (wait.async) {
        // waitAsync alone does not keep Node's event loop alive; the watchdog timer does.
        const watchdog = setTimeout(() => undefined, remaining + 2);
        await Promise.race([wait.value, this.#gone]);
        clearTimeout(watchdog);
      }
    }
  }

  #serveHostCall(): void {
    const ctrl = this.#ctrl;
    const op = Atomics.load(ctrl, CTRL.op);
    const host = this.#channel.host;
    const r = new Reader(host);
    const key = decoder.decode(r.bytes());
    const state = this.#options.state;
    let result = -1;
    if (op === OP.stateGet) {
      const value = state?.get(key);
      if (value) {
        const w = new Writer(host);
        if (w.reserve(value.length + 8)) {
          w.bytes(value);
          result = value.length;
        }
      }
    } else if (op === OP.stateSet) {
      const value = r.bytes();
      result = state?.set(key, value) ? 0 : -1;
    }
    Atomics.store(ctrl, CTRL.result, result);
    Atomics.store(ctrl, CTRL.state, STATE.hostReply);
    Atomics.notify(ctrl, CTRL.state);
  }

  #readAnswers(done: number): InvokeResult[] {
    const answers = readAnswers(this.#response, done, this.#options.outputs, this.#options.log);
    Atomics.store(this.#ctrl, CTRL.state, STATE.idle);
    return answers;
  }

  async terminate(): Promise<void> {
    if (this.#exited) return;
    await this.#worker.terminate();
  }
}
