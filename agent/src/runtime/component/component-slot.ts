// SPDX-License-Identifier: Apache-2.0
// The main thread's side of one component worker: starts it, hands it calls, answers its state
// host calls, and is its watchdog — a call past its deadline terminates the worker (V8 cannot
// interrupt wasm any other way), and so does close.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { FailureReason, FunctionMessage, InvokeResult, LogLevel } from '../types.ts';
import type {
  CallReply,
  CallRequest,
  ComponentWorkerInit,
  HostReply,
  HostRequest,
  WorkerReady,
} from './protocol.ts';
import { workerModule } from '../core/worker-entry.ts';
import { ReasonError } from '../errors.ts';
import type { SlotOptions } from '../slot-options.ts';

export interface SlotSource {
  readonly js: string;
  readonly coreModules: Readonly<Record<string, Uint8Array | WebAssembly.Module>>;
  readonly imports: readonly string[];
  readonly wasiShimUrl: string;
}

export class SlotStartFailure extends ReasonError<FailureReason> {
  override readonly name = 'SlotStartFailure';
}

export interface SlotReady {
  readonly compiled: Readonly<Record<string, WebAssembly.Module>> | undefined;
  readonly compileMs: number;
  readonly instantiateMs: number;
}

/** stdout/stderr lines from a component (WASI stdio) per chunk; the rest is dropped. */
const MAX_STDIO_LINES = 32;

export class ComponentSlot {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #options: SlotOptions;
  #exited = false;
  #onExit: (() => void)[] = [];
  #nextId = 1;

  constructor(source: SlotSource, options: SlotOptions) {
    this.#options = options;
    const hostSignal = new SharedArrayBuffer(4);
    this.#signal = new Int32Array(hostSignal);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const init: ComponentWorkerInit = {
      ...source,
      outputs: options.outputs,
      config: options.config,
      memoryBytes: options.memoryBytes,
      hostSignal,
      hostPort: port2,
    };
    this.#worker = new Worker(workerModule(import.meta.url, 'component-worker'), {
      workerData: init,
      transferList: [port2],
      env: {}, // the guest cannot see the agent's environment, not even through a bug of ours
      stdout: true,
      stderr: true,
      // Bounds the glue's JS heap; wasm memory is capped by rewriting the component instead.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8, stackSizeMb: 4 },
    });
    this.#worker.unref();
    port1.unref();
    port1.on('message', (request: HostRequest) => {
      this.#serveHostCall(request);
    });
    this.#pipe(this.#worker.stdout, 'info');
    this.#pipe(this.#worker.stderr, 'warn');
    this.#worker.on('error', () => undefined); // reported through 'exit'
    this.#worker.once('exit', () => {
      this.#exited = true;
      port1.close();
      for (const l of this.#onExit) l();
      this.#onExit = [];
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  #pipe(stream: NodeJS.ReadableStream, level: LogLevel): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = chunk.split('\n').filter((l) => l !== '');
      for (const line of lines.slice(0, MAX_STDIO_LINES)) this.#options.log?.(level, line.slice(0, 1024));
    });
  }

  /** Compile + instantiate, bounded by timeoutMs; rejects with SlotStartFailure. */
  async start(timeoutMs: number): Promise<SlotReady> {
    const ready = await new Promise<WorkerReady>((resolve) => {
      const timer = setTimeout(() => {
        resolve({
          type: 'failed',
          reason: 'CompileTimeout',
          message: `compiling and instantiating the component took longer than ${timeoutMs} ms`,
        });
      }, timeoutMs);
      this.#worker.once('message', (m: WorkerReady) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.#onExit.push(() => {
        clearTimeout(timer);
        resolve({
          type: 'failed',
          reason: 'InitFailed',
          message: 'the component worker exited while starting',
        });
      });
    });
    if (ready.type === 'failed') {
      await this.terminate();
      throw new SlotStartFailure(ready.reason, ready.message);
    }
    return { compiled: ready.compiled, compileMs: ready.compileMs, instantiateMs: ready.instantiateMs };
  }

  /** One call. The result says `poisoned` when the worker must not be used again. */
  async call(
    input: FunctionMessage,
    timeoutMs: number,
  ): Promise<{ result: InvokeResult; poisoned: boolean }> {
    if (this.#exited)
      return {
        result: { ok: false, reason: 'Trap', message: 'the component worker is not running' },
        poisoned: true,
      };
    const outcome = await this.#exchange(input, timeoutMs);
    if (outcome === 'timeout') {
      await this.terminate();
      return {
        result: {
          ok: false,
          reason: 'Timeout',
          message: `the call did not finish within its ${timeoutMs} ms deadline; the function was stopped`,
        },
        poisoned: true,
      };
    }
    if (outcome === 'exited')
      return {
        result: { ok: false, reason: 'Trap', message: 'the component worker exited during the call' },
        poisoned: true,
      };
    for (const l of outcome.logs) this.#options.log?.(l.level, l.text);
    if (outcome.ok) return { result: { ok: true, outputs: outcome.outputs }, poisoned: false };
    return {
      result: { ok: false, reason: outcome.reason, message: outcome.message },
      poisoned: outcome.poisoned,
    };
  }

  /** Sends one call and waits for its reply, the deadline, or the worker's exit. */
  #exchange(input: FunctionMessage, timeoutMs: number): Promise<CallReply | 'timeout' | 'exited'> {
    const id = this.#nextId++;
    const request: CallRequest = {
      type: 'call',
      id,
      topic: input.topic,
      payload: input.payload,
      timestampMs: input.timestampMs,
    };
    return new Promise<CallReply | 'timeout' | 'exited'>((resolve) => {
      const timer = setTimeout(() => {
        resolve('timeout');
      }, timeoutMs);
      const onMessage = (m: CallReply) => {
        if (m.id !== id) return;
        done();
        resolve(m);
      };
      const onExit = () => {
        done();
        resolve('exited');
      };
      const done = () => {
        clearTimeout(timer);
        this.#worker.off('message', onMessage);
        this.#onExit = this.#onExit.filter((l) => l !== onExit);
      };
      this.#worker.on('message', onMessage);
      this.#onExit.push(onExit);
      this.#worker.postMessage(request);
    });
  }

  #serveHostCall(request: HostRequest): void {
    const state = this.#options.state;
    let reply: HostReply;
    try {
      reply =
        request.op === 'state-get'
          ? { op: 'state-get', value: state?.get(request.key) }
          : { op: 'state-set', ok: state?.set(request.key, request.value) ?? false };
    } catch {
      // A failing state store answers like a full one; the guest sees an error, the agent lives.
      reply =
        request.op === 'state-get' ? { op: 'state-get', value: undefined } : { op: 'state-set', ok: false };
    }
    this.#port.postMessage(reply);
    Atomics.store(this.#signal, 0, 1);
    Atomics.notify(this.#signal, 0);
  }

  async terminate(): Promise<void> {
    if (this.#exited) return;
    await this.#worker.terminate();
  }
}
