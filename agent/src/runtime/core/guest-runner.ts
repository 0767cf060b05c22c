// SPDX-License-Identifier: Apache-2.0
// Runs one core-module guest: links it against our host imports only, runs its init, and answers
// inputs into a response buffer in the channel's record format. Thread-agnostic: a function's
// worker thread runs it (worker-main.ts), and so does the main thread for guests made
// interruptible (inline-function.ts, ADR 0018) — one implementation of the guest ABI for both.
import { CallContext } from './call-context.ts';
import { RECORD_RESERVE, REASONS, type Reader, type Writer } from './channel.ts';
import { GuestMemory, HostTrap } from './guest-memory.ts';
import { createHostImports, type HostBridge } from './host-imports.ts';
import { ProcExit, createWasi } from './wasi.ts';
import { ReasonError } from '../errors.ts';

export type Reason = (typeof REASONS)[number];

export class CallFailure extends ReasonError<Reason> {
  override readonly name = 'CallFailure';
}

export interface GuestRunnerOptions {
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
  readonly bridge: HostBridge;
  /** How WASI sleeps block (default: the whole time; a worker's watchdog ends overlong ones). */
  readonly sleep?: (ms: number) => void;
  /** Recognises errors a particular runtime throws into the guest (the inline deadline). */
  readonly classifyExtra?: (error: unknown) => CallFailure | undefined;
}

export type Linked =
  | { readonly ok: true; readonly instance: WebAssembly.Instance; readonly instantiateUs: number }
  | { readonly ok: false; readonly reason: Reason; readonly message: string };

type Fn = (...args: number[]) => number;

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);

export class GuestRunner {
  readonly memory = new GuestMemory();
  readonly call = new CallContext();
  readonly #o: GuestRunnerOptions;
  readonly #imports: WebAssembly.Imports;
  #instance: WebAssembly.Instance | undefined;
  /** The last call ran out of stack (the agent's thread has less than a worker: see ADR 0018). */
  stackOverflow = false;

  constructor(options: GuestRunnerOptions) {
    this.#o = options;
    const { memory, call } = this;
    this.#imports = {
      wasmfleet_v1: createHostImports({
        memory,
        call,
        outputs: options.outputs,
        config: options.config,
        bridge: options.bridge,
      }),
      wasi_snapshot_preview1: createWasi({
        memory,
        env: {},
        ...(options.sleep ? { sleep: options.sleep } : {}),
        log: (fd, text) => call.log(fd === 1 ? 1 : 2, text),
      }),
    };
  }

  /**
   * Instantiates `module` against the host imports only; refuses imports we do not provide. A
   * later call replaces the instance (fresh linear memory).
   */
  link(module: WebAssembly.Module, afterInstantiate?: (instance: WebAssembly.Instance) => void): Linked {
    for (const imp of WebAssembly.Module.imports(module)) {
      const provided = this.#imports[imp.module]?.[imp.name];
      if (provided === undefined || (imp.kind === 'function') !== (typeof provided === 'function')) {
        return {
          ok: false,
          reason: 'MissingImport',
          message: `the module imports ${imp.kind} "${imp.module}"."${imp.name}", which the agent does not provide (see docs/guest-abi.md)`,
        };
      }
    }
    let instance: WebAssembly.Instance;
    const t1 = performance.now();
    try {
      instance = new WebAssembly.Instance(module, this.#imports);
      afterInstantiate?.(instance);
    } catch (error) {
      const reason: Reason = error instanceof WebAssembly.LinkError ? 'MissingImport' : 'InitFailed';
      return { ok: false, reason, message: `the module does not instantiate: ${(error as Error).message}` };
    }
    const instantiateUs = (performance.now() - t1) * 1000;
    const exp = instance.exports;
    const missing = (['memory', 'wf_alloc', 'wf_handle'] as const).find((name) =>
      name === 'memory' ? !(exp[name] instanceof WebAssembly.Memory) : typeof exp[name] !== 'function',
    );
    if (missing) {
      return {
        ok: false,
        reason: 'MissingExport',
        message: `the module does not export "${missing}" (see docs/guest-abi.md)`,
      };
    }
    this.memory.attach(exp.memory as WebAssembly.Memory);
    this.#instance = instance;
    return { ok: true, instance, instantiateUs };
  }

  /**
   * Runs the guest's init (op init: no topic) or one input, and appends its answer to `w`:
   * [1][n][index, payload]×n or [0][reason][message], then its log lines. All or nothing: a
   * failed call publishes nothing. (Topic and payload as arguments: an object per call was
   * garbage per message, docs/adr/0051.)
   */
  runOne(w: Writer, topic: Uint8Array | undefined, payload: Uint8Array = NO_BYTES): Reason | undefined {
    const { call } = this;
    let failure: CallFailure | undefined;
    this.stackOverflow = false;
    try {
      if (!topic) {
        call.begin(NO_BYTES, w);
        this.#runInit();
      } else {
        call.begin(topic, w);
        this.#runHandle(payload);
      }
    } catch (error) {
      failure = this.#classify(error);
      if (!topic && failure.reason !== 'OutOfMemory' && failure.reason !== 'Timeout')
        failure = new CallFailure('InitFailed', failure.message);
    }
    if (failure) {
      call.rewind();
      writeFailure(w, failure);
    } else {
      call.commit();
    }
    this.#writeLogs(w);
    return failure?.reason;
  }

  /** Answers the inputs of a request in order; stops early when the response could not take another. */
  runBatch(
    w: Writer,
    r: Reader,
    count: number,
    beforeEach: (index: number) => void,
    afterEach: (index: number) => void,
  ): void {
    for (let i = 0; i < count; i++) {
      // Stop early rather than fail an input whose answer might not fit: the caller sends the
      // unanswered rest again. The first input always runs (its outputs are rejected inside the
      // call if they cannot fit).
      if (i > 0 && w.room < RECORD_RESERVE) break;
      beforeEach(i);
      const topic = r.view();
      const payload = r.view();
      r.pos += 8; // the timestamp: not part of ABI v1 yet
      this.runOne(w, topic, payload);
      afterEach(i);
    }
  }

  #runInit(): void {
    const exp = this.#exports();
    if (typeof exp._initialize === 'function') (exp._initialize as Fn)();
    if (typeof exp.wf_init === 'function') {
      const rc = (exp.wf_init as Fn)();
      if (rc !== 0) throw new CallFailure('InitFailed', this.call.error ?? `wf_init returned ${rc}`);
    }
  }

  #runHandle(payload: Uint8Array): void {
    const exp = this.#exports();
    const ptr = (exp.wf_alloc as Fn)(payload.length);
    if (ptr === 0 && payload.length > 0)
      throw new CallFailure('OutOfMemory', `wf_alloc(${payload.length}) returned 0`);
    this.memory.write(ptr, payload);
    const rc = (exp.wf_handle as Fn)(ptr, payload.length);
    if (typeof exp.wf_dealloc === 'function') (exp.wf_dealloc as Fn)(ptr, payload.length);
    if (rc !== 0) throw new CallFailure('GuestError', this.call.error ?? `wf_handle returned ${rc}`);
  }

  #exports(): WebAssembly.Exports {
    if (!this.#instance) throw new CallFailure('InitFailed', 'the module is not instantiated');
    return this.#instance.exports;
  }

  /** Maps whatever a call threw to the reason the agent reports. */
  #classify(error: unknown): CallFailure {
    if (error instanceof CallFailure) return error;
    const extra = this.#o.classifyExtra?.(error);
    if (extra) return extra;
    if (error instanceof ProcExit) return new CallFailure('GuestError', error.message);
    if (error instanceof HostTrap) return new CallFailure('Trap', error.message);
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      this.stackOverflow = true;
      return new CallFailure('Trap', `stack overflow (recursion too deep): ${error.message}`);
    }
    const message = error instanceof Error ? error.message : String(error);
    // A trap with memory (nearly) at its cap is almost always a failed memory.grow: the guest
    // cannot grow by whatever step it needs, so report the limit, not the symptom.
    const max = this.#o.memoryBytes;
    if (max > 0 && this.memory.byteLength >= max * 0.9) {
      return new CallFailure(
        'OutOfMemory',
        `memory limit of ${max} bytes reached (the guest has ${this.memory.byteLength}): ${message}`,
      );
    }
    return new CallFailure('Trap', message);
  }

  /** Appends the log lines of the call just made to its answer. */
  #writeLogs(w: Writer): void {
    const { call } = this;
    const dropped = call.droppedLogs;
    const count = call.logs.length + (dropped > 0 ? 1 : 0);
    w.reserve(4);
    w.u32(count);
    for (const l of call.logs) writeLog(w, l.level, l.text);
    if (dropped > 0) writeLog(w, 2, `${dropped} more log lines dropped (limit per call)`);
  }
}

function writeLog(w: Writer, level: number, text: string): void {
  const bytes = encoder.encode(text);
  w.reserve(bytes.length + 8);
  w.u32(level);
  w.bytes(bytes);
}

function writeFailure(w: Writer, failure: CallFailure): void {
  const message = encoder.encode(failure.message);
  w.reserve(message.length + 12);
  w.u32(0);
  w.u32(REASONS.indexOf(failure.reason));
  w.bytes(message);
}
