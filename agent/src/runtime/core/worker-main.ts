// Entry of one function's worker thread. It compiles (or receives the cached compiled module),
// links it against our host imports only, reports back once, then serves batches of calls over
// the shared channel until the main thread terminates it. The main thread's watchdog may terminate it at
// any moment (deadline overrun, compile timeout, close); nothing here needs cleaning up.
import { parentPort, workerData } from 'node:worker_threads';
import { CallContext } from './call-context.ts';
import {
  CTRL,
  OP,
  RECORD_RESERVE,
  REASONS,
  Reader,
  STATE,
  Writer,
  controlViews,
  spinUntilChanged,
  type WorkerInit,
  type WorkerStartMessage,
} from './channel.ts';
import { GuestMemory, HostTrap } from './guest-memory.ts';
import { createHostImports, type HostBridge } from './host-imports.ts';
import { ProcExit, createWasi } from './wasi.ts';

type Reason = (typeof REASONS)[number];

class CallFailure extends Error {
  readonly reason: Reason;
  constructor(reason: Reason, message: string) {
    super(message);
    this.reason = reason;
  }
}

const init = workerData as WorkerInit;
const { words: ctrl, startedAt } = controlViews(init.channel.ctrl);
const { request, response, host } = init.channel;
const memory = new GuestMemory();
const call = new CallContext();
const maxMemoryBytes = init.memoryBytes;

function post(message: WorkerStartMessage): void {
  parentPort?.postMessage(message);
}

/** Hands the channel to the main thread and blocks until it answers a host call. */
function hostCall(op: number, write: (w: Writer) => boolean): Reader | undefined {
  const w = new Writer(host);
  if (!write(w)) return undefined;
  Atomics.store(ctrl, CTRL.op, op);
  Atomics.store(ctrl, CTRL.state, STATE.hostCall);
  Atomics.notify(ctrl, CTRL.state);
  Atomics.wait(ctrl, CTRL.state, STATE.hostCall);
  return new Reader(host);
}

const bridge: HostBridge = {
  stateGet(key) {
    const r = hostCall(OP.stateGet, (w) => w.reserve(key.length + 8) && (w.bytes(key), true));
    if (!r || Atomics.load(ctrl, CTRL.result) < 0) return undefined;
    return r.bytes();
  },
  stateSet(key, value) {
    const r = hostCall(
      OP.stateSet,
      (w) => w.reserve(key.length + value.length + 8) && (w.bytes(key), w.bytes(value), true),
    );
    return r !== undefined && Atomics.load(ctrl, CTRL.result) === 0;
  },
};

function start(): WebAssembly.Instance | undefined {
  let module = init.module;
  let compileMs = 0;
  try {
    if (!module) {
      const t0 = performance.now();
      module = new WebAssembly.Module(init.bytes ?? new Uint8Array());
      compileMs = performance.now() - t0;
    }
  } catch (error) {
    post({
      type: 'failed',
      reason: 'InvalidModule',
      message: `the module does not compile: ${(error as Error).message}`,
    });
    return undefined;
  }
  const imports: WebAssembly.Imports = {
    wasmfleet_v1: createHostImports({ memory, call, outputs: init.outputs, config: init.config, bridge }),
    wasi_snapshot_preview1: createWasi({
      memory,
      env: {},
      log: (fd, text) => call.log(fd === 1 ? 1 : 2, text),
    }),
  };
  for (const imp of WebAssembly.Module.imports(module)) {
    const provided = imports[imp.module]?.[imp.name];
    if (provided === undefined || (imp.kind === 'function') !== (typeof provided === 'function')) {
      post({
        type: 'failed',
        reason: 'MissingImport',
        message: `the module imports ${imp.kind} "${imp.module}"."${imp.name}", which the agent does not provide (see docs/guest-abi.md)`,
      });
      return undefined;
    }
  }
  let instance: WebAssembly.Instance;
  const t1 = performance.now();
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (error) {
    const reason: Reason = error instanceof WebAssembly.LinkError ? 'MissingImport' : 'InitFailed';
    post({ type: 'failed', reason, message: `the module does not instantiate: ${(error as Error).message}` });
    return undefined;
  }
  const instantiateUs = (performance.now() - t1) * 1000;
  const exp = instance.exports;
  const missing = (['memory', 'wf_alloc', 'wf_handle'] as const).find((name) =>
    name === 'memory' ? !(exp[name] instanceof WebAssembly.Memory) : typeof exp[name] !== 'function',
  );
  if (missing) {
    post({
      type: 'failed',
      reason: 'MissingExport',
      message: `the module does not export "${missing}" (see docs/guest-abi.md)`,
    });
    return undefined;
  }
  memory.attach(exp.memory as WebAssembly.Memory);
  post({ type: 'instantiated', ...(init.module ? {} : { module }), compileMs, instantiateUs });
  return instance;
}

type Fn = (...args: number[]) => number;

function runInit(instance: WebAssembly.Instance): void {
  const exp = instance.exports;
  if (typeof exp._initialize === 'function') (exp._initialize as Fn)();
  if (typeof exp.wf_init === 'function') {
    const rc = (exp.wf_init as Fn)();
    if (rc !== 0) throw new CallFailure('InitFailed', call.error ?? `wf_init returned ${rc}`);
  }
}

function runHandle(instance: WebAssembly.Instance, payload: Uint8Array): void {
  const exp = instance.exports;
  const ptr = (exp.wf_alloc as Fn)(payload.length);
  if (ptr === 0 && payload.length > 0)
    throw new CallFailure('OutOfMemory', `wf_alloc(${payload.length}) returned 0`);
  memory.write(ptr, payload);
  const rc = (exp.wf_handle as Fn)(ptr, payload.length);
  if (typeof exp.wf_dealloc === 'function') (exp.wf_dealloc as Fn)(ptr, payload.length);
  if (rc !== 0) throw new CallFailure('GuestError', call.error ?? `wf_handle returned ${rc}`);
}

/** Maps whatever a call threw to the reason the agent reports. */
function classify(error: unknown): CallFailure {
  if (error instanceof CallFailure) return error;
  if (error instanceof ProcExit) return new CallFailure('GuestError', error.message);
  if (error instanceof HostTrap) return new CallFailure('Trap', error.message);
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new CallFailure('Trap', `stack overflow (recursion too deep): ${error.message}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  // A trap with memory (nearly) at its cap is almost always a failed memory.grow: the guest
  // cannot grow by whatever step it needs, so report the limit, not the symptom.
  if (maxMemoryBytes > 0 && memory.byteLength >= maxMemoryBytes * 0.9) {
    return new CallFailure(
      'OutOfMemory',
      `memory limit of ${maxMemoryBytes} bytes reached (the guest has ${memory.byteLength}): ${message}`,
    );
  }
  return new CallFailure('Trap', message);
}

const encoder = new TextEncoder();

/** Appends the log lines of the call just made to its answer. */
function writeLogs(w: Writer): void {
  const dropped = call.droppedLogs;
  const count = call.logs.length + (dropped > 0 ? 1 : 0);
  w.reserve(4);
  w.u32(count);
  for (const l of call.logs) writeLog(w, l.level, l.text);
  if (dropped > 0) writeLog(w, 2, `${dropped} more log lines dropped (limit per call)`);
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

/**
 * Runs one input and appends its answer: [1][n][index, payload]×n or [0][reason][message], then
 * its log lines. All or nothing: a failed call publishes nothing.
 */
function runOne(instance: WebAssembly.Instance, op: number, w: Writer, r: Reader | undefined): void {
  let failure: CallFailure | undefined;
  try {
    if (op === OP.init || !r) {
      call.begin(new Uint8Array(0), w);
      runInit(instance);
    } else {
      const topic = r.view();
      const payload = r.view();
      r.pos += 8; // the timestamp: not part of ABI v1 yet
      call.begin(topic, w);
      runHandle(instance, payload);
    }
  } catch (error) {
    failure = classify(error);
    if (op === OP.init && failure.reason !== 'OutOfMemory')
      failure = new CallFailure('InitFailed', failure.message);
  }
  if (failure) {
    call.rewind();
    writeFailure(w, failure);
  } else {
    call.commit();
  }
  writeLogs(w);
}

/** After answering, the worker polls briefly: under a stream the next batch is often close. */
const SPIN_WORKER_US = 20;

function serve(instance: WebAssembly.Instance): never {
  for (;;) {
    const state = Atomics.load(ctrl, CTRL.state);
    if (state !== STATE.request) {
      if (!spinUntilChanged(ctrl, state, SPIN_WORKER_US)) Atomics.wait(ctrl, CTRL.state, state);
      continue;
    }
    const op = Atomics.load(ctrl, CTRL.op);
    const w = new Writer(response);
    if (op === OP.init) {
      startedAt[0] = Date.now();
      Atomics.store(ctrl, CTRL.progress, 0);
      runOne(instance, op, w, undefined);
      Atomics.store(ctrl, CTRL.done, 1);
    } else {
      const r = new Reader(request);
      const count = Atomics.load(ctrl, CTRL.count);
      for (let i = 0; i < count; i++) {
        // Stop early rather than fail an input whose answer might not fit: the main thread
        // sends the unanswered rest again. The first input always runs (its outputs are
        // rejected inside the call if they cannot fit).
        if (i > 0 && w.room < RECORD_RESERVE) break;
        // The watchdog reads these to give every input its own deadline.
        startedAt[0] = Date.now();
        Atomics.store(ctrl, CTRL.progress, i);
        runOne(instance, op, w, r);
        Atomics.store(ctrl, CTRL.done, i + 1);
      }
    }
    Atomics.store(ctrl, CTRL.state, STATE.response);
    Atomics.notify(ctrl, CTRL.state);
  }
}

const instance = start();
if (instance) serve(instance);
