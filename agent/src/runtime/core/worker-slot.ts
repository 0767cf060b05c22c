// The main thread's side of one function worker: starts it, hands it calls through the shared
// channel and is its watchdog. A call first waits synchronously (Atomics.wait, a few ms at most:
// core-module calls take micro-seconds, so the common case costs no event-loop turn at all), then
// asynchronously (Atomics.waitAsync) until the deadline, and on overrun terminates the worker.
import { Worker } from 'node:worker_threads';
import type { FailureReason, FunctionMessage, FunctionState, InvokeResult, LogLevel } from '../types.ts';
import {
  CTRL,
  LOG_LEVELS,
  OP,
  REASONS,
  Reader,
  STATE,
  Writer,
  channelViews,
  createChannelBuffer,
  spinUntilChanged,
  type WorkerInit,
  type WorkerStartMessage,
} from './channel.ts';

const WORKER_URL = new URL('./worker-main.ts', import.meta.url);
/** How long a call may block the main thread before the wait turns asynchronous. */
const SYNC_WAIT_MS = 2;
/** Polls this long before sleeping: most core-module calls finish faster than a futex wake-up. */
const SPIN_MAIN_US = 50;

export interface SlotOptions {
  readonly module?: WebAssembly.Module;
  readonly bytes?: Uint8Array;
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
  readonly state?: FunctionState;
  readonly log?: (level: LogLevel, text: string) => void;
}

export interface SlotStarted {
  readonly module: WebAssembly.Module | undefined;
  readonly compileMs: number;
  readonly instantiateUs: number;
}

export class StartFailure extends Error {
  readonly reason: FailureReason;
  constructor(reason: FailureReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartFailure';
    this.reason = reason;
  }
}

const encoder = new TextEncoder();

export class WorkerSlot {
  readonly #worker: Worker;
  readonly #sab: SharedArrayBuffer;
  readonly #ctrl: Int32Array;
  readonly #options: SlotOptions;
  #exited = false;
  #exitListeners: (() => void)[] = [];
  #lastTopic = '';
  #lastTopicBytes = new Uint8Array(0);

  constructor(options: SlotOptions) {
    this.#options = options;
    this.#sab = createChannelBuffer();
    this.#ctrl = channelViews(this.#sab).ctrl;
    const init: WorkerInit = {
      sab: this.#sab,
      outputs: options.outputs,
      config: options.config,
      memoryBytes: options.memoryBytes,
      ...(options.module ? { module: options.module } : { bytes: options.bytes ?? new Uint8Array() }),
    };
    this.#worker = new Worker(WORKER_URL, {
      workerData: init,
      env: {}, // the guest cannot see the agent's environment, not even through a bug of ours
      stdout: false,
      stderr: false,
      // Bounds the worker's JS heap; wasm memory is capped by rewriting the module instead.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4, stackSizeMb: 4 },
    });
    this.#worker.unref();
    this.#worker.on('error', () => undefined); // reported through 'exit' and the watchdog
    this.#worker.once('exit', () => {
      this.#exited = true;
      for (const l of this.#exitListeners) l();
      this.#exitListeners = [];
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
    const result = await this.#exchange(initTimeoutMs);
    if (!result.ok) {
      await this.terminate();
      throw new StartFailure(
        result.reason === 'Timeout' ? 'InitFailed' : result.reason,
        `starting the function failed: ${result.message}`,
      );
    }
    return { module: started.module, compileMs: started.compileMs, instantiateUs: started.instantiateUs };
  }

  /** One invocation. Returns synchronously when the guest answers within SYNC_WAIT_MS. */
  invoke(input: FunctionMessage, timeoutMs: number): InvokeResult | Promise<InvokeResult> {
    if (this.#exited) return { ok: false, reason: 'Trap', message: 'the function worker is not running' };
    if (input.topic !== this.#lastTopic) {
      this.#lastTopic = input.topic;
      this.#lastTopicBytes = encoder.encode(input.topic);
    }
    const w = new Writer(this.#sab);
    if (!w.reserve(this.#lastTopicBytes.length + input.payload.length + 16)) {
      return {
        ok: false,
        reason: 'OutputRejected',
        message: `the input of ${input.payload.length} bytes is too large for the function channel`,
      };
    }
    w.bytes(this.#lastTopicBytes);
    w.bytes(input.payload);
    w.f64(input.timestampMs);
    Atomics.store(this.#ctrl, CTRL.op, OP.handle);
    return this.#exchange(timeoutMs);
  }

  #exchange(timeoutMs: number): InvokeResult | Promise<InvokeResult> {
    const ctrl = this.#ctrl;
    const deadline = performance.now() + timeoutMs;
    const syncUntil = performance.now() + Math.min(SYNC_WAIT_MS, timeoutMs);
    Atomics.store(ctrl, CTRL.state, STATE.request);
    Atomics.notify(ctrl, CTRL.state);
    for (;;) {
      const state = Atomics.load(ctrl, CTRL.state);
      if (state === STATE.response) return this.#readResponse();
      if (state === STATE.hostCall) {
        this.#serveHostCall();
        continue;
      }
      const now = performance.now();
      if (now >= syncUntil) return this.#exchangeAsync(deadline, timeoutMs);
      if (spinUntilChanged(ctrl, state, SPIN_MAIN_US)) continue;
      Atomics.wait(ctrl, CTRL.state, state, syncUntil - now);
    }
  }

  async #exchangeAsync(deadline: number, timeoutMs: number): Promise<InvokeResult> {
    const ctrl = this.#ctrl;
    for (;;) {
      const state = Atomics.load(ctrl, CTRL.state);
      if (state === STATE.response) return this.#readResponse();
      if (state === STATE.hostCall) {
        this.#serveHostCall();
        continue;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0 || this.#exited) {
        const exited = this.#exited;
        await this.terminate();
        return exited
          ? { ok: false, reason: 'Trap', message: 'the function worker exited during the call' }
          : {
              ok: false,
              reason: 'Timeout',
              message: `the call did not finish within its ${timeoutMs} ms deadline; the function was stopped`,
            };
      }
      const wait = Atomics.waitAsync(ctrl, CTRL.state, state, remaining);
      if (wait.async) {
        // waitAsync alone does not keep Node's event loop alive; the watchdog timer does.
        const watchdog = setTimeout(() => undefined, remaining + 1);
        await wait.value;
        clearTimeout(watchdog);
      }
    }
  }

  #serveHostCall(): void {
    const ctrl = this.#ctrl;
    const op = Atomics.load(ctrl, CTRL.op);
    const r = new Reader(this.#sab);
    const key = new TextDecoder().decode(r.bytes());
    const state = this.#options.state;
    let result = -1;
    if (op === OP.stateGet) {
      const value = state?.get(key);
      if (value) {
        const w = new Writer(this.#sab);
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

  #readResponse(): InvokeResult {
    const r = new Reader(this.#sab);
    const ok = r.u32() === 1;
    let result: InvokeResult;
    if (ok) {
      const count = r.u32();
      const outputs = [];
      for (let i = 0; i < count; i++) {
        const topic = this.#options.outputs[r.u32()] ?? '';
        outputs.push({ topic, payload: r.bytes() });
      }
      result = { ok: true, outputs };
    } else {
      const reason = REASONS[r.u32()] ?? 'Trap';
      const message = new TextDecoder().decode(r.view());
      r.u32();
      result = { ok: false, reason, message };
    }
    const logs = r.u32();
    const log = this.#options.log;
    for (let i = 0; i < logs; i++) {
      const level = LOG_LEVELS[r.u32()] ?? 'info';
      const text = new TextDecoder().decode(r.view());
      log?.(level, text);
    }
    Atomics.store(this.#ctrl, CTRL.state, STATE.idle);
    return result;
  }

  async terminate(): Promise<void> {
    if (this.#exited) return;
    await this.#worker.terminate();
  }
}
