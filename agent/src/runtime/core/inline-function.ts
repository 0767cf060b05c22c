// SPDX-License-Identifier: Apache-2.0
// A core module run on the agent's main thread (ADR 0018). Its code was rewritten
// (deadline-instrument.ts) to call our deadline check at every function entry and loop header
// at least every FUEL_PER_CHECK instructions, so a runaway call is stopped by an exception
// instead of by terminating a thread: no worker (≈ 9 MB and a thread hop per batch) for a
// function that behaves. One that does not is demoted: the first deadline overrun, a call that
// holds the thread longer than INLINE_SLOW_CALL_MS after the first WARM_UP_CALLS (confirmed by
// the thread's CPU time, so a machine that preempted the agent does not move a cheap function), a stack
// overflow, or an init slower than its call deadline moves the function into its own worker
// (core-function.ts) for the rest of its life, so it holds the agent's thread for at most one
// deadline per call, and only until then.
import type { FunctionMessage, FunctionThread, InvokeResult, LoadOptions, LoadedFunction } from '../types.ts';
import { COMPILE_TIMEOUT_MS } from '../limits.ts';
import {
  INITIAL_BYTES,
  MAX_RESPONSE_BYTES,
  RECORD_RESERVE,
  Reader,
  TopicBytes,
  Writer,
  readAnswers,
} from './channel.ts';
import { CoreFunction } from './core-function.ts';
import { START_EXPORT, installDeadlineCheck } from './deadline-instrument.ts';
import { CallFailure, GuestRunner } from './guest-runner.ts';
import { blockingSleep } from './wasi.ts';
import { StartFailure, type SlotStarted } from './worker-slot.ts';

const CLOSED: InvokeResult = { ok: false, reason: 'Trap', message: 'the function was closed' };
/** How long one batch may hold the agent's thread before it lets the event loop turn. */
const SLICE_MS = 5;
/**
 * A call that holds the agent's thread longer than this (though within its deadline) moves its
 * function to a worker after it: heavy functions belong on their own thread.
 */
export const INLINE_SLOW_CALL_MS = 10;
/**
 * Calls exempt from that rule: V8 compiles a guest's functions on their first call (1.3 ms for the
 * Go workload's here, ten times that on a small ARM board), which says nothing about the calls
 * after. The deadline applies to them all the same.
 */
const WARM_UP_CALLS = 3;
/**
 * A call slow by the clock may only have been preempted: on a loaded 2-core machine a 2 µs call
 * took over 10 ms now and then, and the function moved to a worker for good (a thread hop and a
 * spinning worker per batch, about twice the CPU per message). So the next calls, up to this
 * many, are timed by the thread's CPU time plus their own WASI sleeps (what the guest holds the
 * thread for); one over INLINE_SLOW_CALL_MS moves the function. Reading the thread's CPU costs a
 * system call (~2 µs), hence only while confirming.
 */
const CONFIRM_CALLS = 8;
const decoder = new TextDecoder();

/** Thrown into the guest by the deadline check; never seen outside this file. */
class DeadlineExceeded extends Error {
  constructor() {
    super('deadline exceeded');
    this.name = 'DeadlineExceeded';
  }
}

/**
 * performance.now() after which the running call is stopped. One for the process: calls on the
 * agent's thread never overlap (a guest cannot call another), so the deadline check — one
 * WebAssembly function shared by every instance (installDeadlineCheck wraps it once) — reads it
 * here.
 */
const clock = { deadline: Number.POSITIVE_INFINITY, sleptMs: 0 };
function checkDeadline(): void {
  if (performance.now() > clock.deadline) throw new DeadlineExceeded();
}
/**
 * Where calls on the agent's thread write their answers, shared for the same reason: each batch
 * slice decodes its answers before it returns, so the buffer is free between slices. A plain
 * ArrayBuffer (nothing else reads it): see Writer.
 */
let response: { readonly writer: Writer; reader: Reader } | undefined;
/** The shared response's writer, from its start; a writer and a reader made once, not per batch. */
function responseWriter(): Writer {
  response ??= localResponseCodec();
  response.writer.pos = 0;
  return response.writer;
}
/** A reader of what the writer wrote: a new one only when the writer moved to a bigger buffer. */
function responseReader(): Reader {
  response ??= localResponseCodec();
  if (response.reader.buffer !== response.writer.buffer) response.reader = new Reader(response.writer.buffer);
  return response.reader;
}
function localResponseCodec(): { readonly writer: Writer; reader: Reader } {
  const buffer = new ArrayBuffer(INITIAL_BYTES);
  return { writer: new Writer(buffer, MAX_RESPONSE_BYTES), reader: new Reader(buffer) };
}

/** This thread's CPU time, ms. */
function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

/** Sleeps in WASI poll_oneoff at most until the running call's deadline, then stops the call. */
function sleepWithinDeadline(ms: number): void {
  const remaining = clock.deadline - performance.now();
  const slept = Math.max(0, Math.min(ms, remaining));
  clock.sleptMs += slept;
  blockingSleep(slept);
  if (ms > remaining) throw new DeadlineExceeded();
}

export interface InlineSource {
  /** The sandboxed module rewritten by instrumentDeadlines, compiled. */
  readonly module: WebAssembly.Module;
  readonly hasStart: boolean;
  /** The sandboxed module without instrumentation: what a demoted function's worker runs. */
  readonly workerBytes: Uint8Array;
}

export class InlineFunction implements LoadedFunction {
  readonly kind = 'core' as const;
  readonly #options: LoadOptions;
  readonly #source: InlineSource;
  readonly #runner: GuestRunner;
  readonly #topics = new TopicBytes();
  #closed = false;
  /** Calls made on this thread so far (see WARM_UP_CALLS). */
  #calls = 0;
  /** Calls still to be timed by CPU after one was slow by the clock (see CONFIRM_CALLS). */
  #confirming = 0;
  /** The last batch still running in slices: later batches start after it. */
  #tail: Promise<InvokeResult[]> | undefined;
  /** The module's start function overran a call deadline while linking. */
  #slowStart = false;
  /** Set once the function overran a deadline: everything goes to its worker from then on. */
  #worker: Promise<CoreFunction> | undefined;
  /** Compile and instantiate timings of the first start (benchmarks). */
  startStats: SlotStarted = { module: undefined, compileMs: 0, instantiateUs: 0 };

  private constructor(options: LoadOptions, source: InlineSource) {
    this.#options = options;
    this.#source = source;
    const state = options.state;
    this.#runner = new GuestRunner({
      outputs: options.outputs,
      config: options.config,
      memoryBytes: options.limits.memoryBytes,
      sleep: sleepWithinDeadline,
      bridge: {
        stateGet: (key) => state?.get(decoder.decode(key)),
        // A copy: the value is a view of guest memory, which the next call overwrites.
        stateSet: (key, value) => state?.set(decoder.decode(key), value.slice()) ?? false,
      },
      classifyExtra: (error) =>
        error instanceof DeadlineExceeded
          ? new CallFailure(
              'Timeout',
              `the call did not finish within its ${options.limits.timeoutMs} ms deadline; the function was stopped`,
            )
          : undefined,
    });
  }

  /**
   * Instantiates and runs the guest's init on this thread. An init that needs longer than one
   * call deadline starts in a worker instead (with the full init allowance there); the returned
   * function is then a CoreFunction. Rejects with StartFailure.
   */
  static async start(options: LoadOptions, source: InlineSource): Promise<LoadedFunction> {
    const t0 = performance.now();
    const fn = new InlineFunction(options, source);
    const linked = fn.#link();
    // Everything it took to get a callable instance: host imports, the deadline check, linking.
    fn.startStats = { module: undefined, compileMs: 0, instantiateUs: (performance.now() - t0) * 1000 };
    if (!linked.ok && !fn.#slowStart) throw new StartFailure(linked.reason, linked.message);
    const init = linked.ok ? fn.#runInit() : 'slow';
    if (init === 'slow' || init === 'stack') {
      const why =
        init === 'slow'
          ? `its start code took longer than the ${options.limits.timeoutMs} ms call deadline on the agent's thread (${Math.round(performance.now() - t0)} ms)`
          : "its start code ran out of the agent's thread's stack (a worker's is 4 MB)";
      options.log?.('info', `${why}; starting it in its own worker thread`);
      return (await CoreFunction.start(options, { bytes: source.workerBytes })).fn;
    }
    if (!init.ok) throw new StartFailure(init.reason, `starting the function failed: ${init.message}`);
    return fn;
  }

  /** The agent's thread until the function was moved to a worker. */
  get thread(): FunctionThread {
    return this.#worker ? 'worker' : 'agent';
  }

  invoke(input: FunctionMessage): Promise<InvokeResult> {
    const answered = this.invokeBatch([input]);
    if (answered instanceof Promise) return answered.then((a) => a[0] ?? CLOSED);
    return Promise.resolve(answered[0] ?? CLOSED);
  }

  /**
   * Runs inputs in order, one answer per input. Synchronous for a batch that takes less than
   * SLICE_MS; a longer one yields to the event loop every SLICE_MS (MQTT traffic, timers and
   * other functions go on), and later batches wait for it to finish.
   */
  invokeBatch(inputs: readonly FunctionMessage[]): InvokeResult[] | Promise<InvokeResult[]> {
    if (this.#worker)
      return this.#worker.then(
        (w) => w.invokeBatch(inputs),
        (e: unknown) => failAll(inputs, e),
      );
    if (this.#tail) return this.#after(this.#tail, inputs);
    const answered = this.#runFrom(inputs, 0, []);
    if (answered instanceof Promise) this.#track(answered);
    return answered;
  }

  /** Runs `inputs` once `before` has settled (ordering), through the worker if it came to that. */
  #after(before: Promise<unknown>, inputs: readonly FunctionMessage[]): Promise<InvokeResult[]> {
    // Whether the batch before succeeded or not, this one runs after it.
    const run = (): InvokeResult[] | Promise<InvokeResult[]> =>
      this.#worker || this.#closed ? this.invokeBatch(inputs) : this.#runFrom(inputs, 0, []);
    const answered = before.then(run, run);
    this.#track(answered);
    return answered;
  }

  #track(answered: Promise<InvokeResult[]>): void {
    this.#tail = answered;
    const clear = (): void => {
      if (this.#tail === answered) this.#tail = undefined;
    };
    answered.then(clear, clear);
  }

  /** Runs inputs[from…] on this thread, appending to `results`, for at most one slice. */
  #runFrom(
    inputs: readonly FunctionMessage[],
    from: number,
    results: InvokeResult[],
  ): InvokeResult[] | Promise<InvokeResult[]> {
    if (this.#closed) {
      while (results.length < inputs.length) results.push(CLOSED);
      return results;
    }
    const timeoutMs = this.#options.limits.timeoutMs;
    const w = responseWriter();
    const sliceEnd = performance.now() + SLICE_MS;
    let done = 0;
    let demoteFor: string | undefined;
    let next = from;
    while (next < inputs.length) {
      const input = inputs[next] as FunctionMessage;
      // Decode what is there before an answer could no longer fit (a 1 MiB output per call).
      if (done > 0 && w.room < RECORD_RESERVE) {
        for (const a of this.#answers(done)) results.push(a);
        w.pos = 0;
        done = 0;
      }
      const now = performance.now();
      if (next > from && now >= sliceEnd) break;
      clock.deadline = now + timeoutMs;
      const cpuBefore = this.#confirming > 0 ? this.#startTiming() : 0;
      const record = w.pos;
      const reason = this.#runner.runOne(w, this.#topics.get(input.topic), input.payload);
      if (this.#runner.stackOverflow) {
        // This thread's stack is a quarter of a worker's (4 MB): recursion a worker allows can
        // overflow here. The call published nothing; it runs again in the worker.
        w.pos = record;
        demoteFor = "a call ran out of the agent's thread's stack (a worker's is 4 MB)";
        break;
      }
      done++;
      next++;
      const took = performance.now() - now;
      this.#calls++;
      if (reason === 'Timeout') {
        demoteFor = `a call overran its ${timeoutMs} ms deadline on the agent's thread`;
        break;
      }
      demoteFor = this.#heldTooLong(took, cpuBefore);
      if (demoteFor) break;
    }
    clock.deadline = Number.POSITIVE_INFINITY;
    for (const a of this.#answers(done)) results.push(a);
    return this.#afterSlice(inputs, next, results, demoteFor);
  }

  #startTiming(): number {
    clock.sleptMs = 0;
    return threadCpuMs();
  }

  /**
   * Why the call just made moves the function to a worker, if it does: slow by the clock starts
   * a confirmation; slow by CPU (plus its own sleeps) during one moves it.
   */
  #heldTooLong(took: number, cpuBefore: number): string | undefined {
    if (this.#calls <= WARM_UP_CALLS) return undefined;
    if (this.#confirming > 0) {
      this.#confirming--;
      const held = threadCpuMs() - cpuBefore + clock.sleptMs;
      if (held > INLINE_SLOW_CALL_MS)
        return `a call held the agent's thread for ${held.toFixed(1)} ms of CPU and sleep (more than ${INLINE_SLOW_CALL_MS} ms)`;
    } else if (took > INLINE_SLOW_CALL_MS) {
      this.#confirming = CONFIRM_CALLS;
    }
    return undefined;
  }

  /** After a slice: the rest of the batch in the worker (once demoted), or in the next slice. */
  #afterSlice(
    inputs: readonly FunctionMessage[],
    next: number,
    results: InvokeResult[],
    demoteFor: string | undefined,
  ): InvokeResult[] | Promise<InvokeResult[]> {
    if (demoteFor) {
      // After an overrun the instance stopped mid-call and its memory may be half-written: it
      // is dropped. The rest of the batch, and every later call, runs in the function's own worker.
      const rest = inputs.slice(next);
      const worker = this.#demote(demoteFor);
      if (rest.length === 0) return results;
      return worker.then(
        async (fn) => results.concat(await fn.invokeBatch(rest)),
        (error: unknown) => results.concat(failAll(rest, error)),
      );
    }
    if (next >= inputs.length) return results;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.#runFrom(inputs, next, results),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker)
      await worker.then(
        (w) => w.close(),
        () => undefined,
      );
  }

  #link() {
    const linked = this.#runner.link(this.#source.module, (instance) => {
      installDeadlineCheck(instance, checkDeadline);
      const start = instance.exports[START_EXPORT];
      if (this.#source.hasStart && typeof start === 'function') {
        clock.deadline = performance.now() + this.#options.limits.timeoutMs;
        try {
          (start as () => void)();
        } catch (error) {
          if (!(error instanceof DeadlineExceeded)) throw error;
          this.#slowStart = true;
          throw new Error(`its start function did not finish within ${this.#options.limits.timeoutMs} ms`, {
            cause: error,
          });
        } finally {
          clock.deadline = Number.POSITIVE_INFINITY;
        }
      }
    });
    return linked;
  }

  /**
   * Runs the guest's init; 'slow' when it overran one call deadline, 'stack' when it ran out of
   * stack (the caller starts it in a worker instead).
   */
  #runInit(): InvokeResult | 'slow' | 'stack' {
    const w = responseWriter();
    clock.deadline = performance.now() + this.#options.limits.timeoutMs;
    const reason = this.#runner.runOne(w, undefined);
    clock.deadline = Number.POSITIVE_INFINITY;
    const [answer] = this.#answers(1);
    if (reason === 'Timeout') return 'slow';
    if (this.#runner.stackOverflow) return 'stack';
    return answer ?? { ok: false, reason: 'InitFailed', message: 'no answer' };
  }

  #demote(why: string): Promise<CoreFunction> {
    this.#options.log?.('warn', `${why}; the function runs in its own worker thread from now on`);
    this.#worker = CoreFunction.start(this.#options, { bytes: this.#source.workerBytes }).then(
      async ({ fn }) => {
        if (this.#closed) {
          await fn.close();
          throw new StartFailure('Trap', 'the function was closed');
        }
        return fn;
      },
    );
    // A failed start is reported with each call; never an unhandled rejection.
    this.#worker.catch(() => undefined);
    return this.#worker;
  }

  #answers(done: number): InvokeResult[] {
    return readAnswers(responseReader(), done, this.#options.outputs, this.#options.log);
  }
}

function failAll(inputs: readonly FunctionMessage[], error: unknown): InvokeResult[] {
  const failure: InvokeResult =
    error instanceof StartFailure
      ? { ok: false, reason: error.reason, message: error.message }
      : { ok: false, reason: 'Trap', message: `the function's worker did not start: ${String(error)}` };
  return inputs.map(() => failure);
}

/** Compiles the instrumented bytes off the main thread, bounded like a worker's compile. */
export async function compileInline(bytes: Uint8Array): Promise<WebAssembly.Module> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      WebAssembly.compile(bytes),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StartFailure(
                'CompileTimeout',
                `compiling the module took longer than ${COMPILE_TIMEOUT_MS} ms`,
              ),
            ),
          COMPILE_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    if (error instanceof StartFailure) throw error;
    throw new StartFailure('InvalidModule', `the module does not compile: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}
