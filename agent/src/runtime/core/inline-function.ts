// A core module run on the agent's main thread (ADR 0018). Its code was rewritten
// (deadline-instrument.ts) to call our deadline check at every function entry and loop header
// at least every FUEL_PER_CHECK instructions, so a runaway call is stopped by an exception
// instead of by terminating a thread: no worker (≈ 9 MB and a thread hop per batch) for a
// function that behaves. One that does not is demoted: the first deadline overrun — or an init
// slower than its call deadline — moves the function into its own worker (core-function.ts) for
// the rest of its life, so it can cost the main thread at most one deadline.
import type { FunctionMessage, InvokeResult, LoadOptions, LoadedFunction } from '../types.ts';
import { COMPILE_TIMEOUT_MS } from '../limits.ts';
import { INITIAL_BYTES, MAX_RESPONSE_BYTES, RECORD_RESERVE, Writer, readAnswers } from './channel.ts';
import { CoreFunction } from './core-function.ts';
import { DEADLINE_TABLE_EXPORT, START_EXPORT, createDeadlineCheck } from './deadline-instrument.ts';
import { CallFailure, GuestRunner } from './guest-runner.ts';
import { StartFailure, type SlotStarted } from './worker-slot.ts';

const CLOSED: InvokeResult = { ok: false, reason: 'Trap', message: 'the function was closed' };
const TOPIC_CACHE_ENTRIES = 256;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Thrown into the guest by the deadline check; never seen outside this file. */
class DeadlineExceeded extends Error {
  constructor() {
    super('deadline exceeded');
    this.name = 'DeadlineExceeded';
  }
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
  readonly #check: unknown;
  readonly #response = new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_RESPONSE_BYTES });
  readonly #topics = new Map<string, Uint8Array>();
  /** performance.now() after which the running call is stopped. */
  #deadline = Number.POSITIVE_INFINITY;
  #closed = false;
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
    this.#check = createDeadlineCheck(() => {
      if (performance.now() > this.#deadline) throw new DeadlineExceeded();
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
    if (init === 'slow') {
      options.log?.(
        'info',
        `its start code took longer than the ${options.limits.timeoutMs} ms call deadline on the agent's thread (${Math.round(performance.now() - t0)} ms); starting it in its own worker thread`,
      );
      return (await CoreFunction.start(options, { bytes: source.workerBytes })).fn;
    }
    if (!init.ok) throw new StartFailure(init.reason, `starting the function failed: ${init.message}`);
    return fn;
  }

  invoke(input: FunctionMessage): Promise<InvokeResult> {
    const answered = this.invokeBatch([input]);
    if (answered instanceof Promise) return answered.then((a) => a[0] ?? CLOSED);
    return Promise.resolve(answered[0] ?? CLOSED);
  }

  /** Runs inputs in order, one answer per input; synchronous unless the function was demoted. */
  invokeBatch(inputs: readonly FunctionMessage[]): InvokeResult[] | Promise<InvokeResult[]> {
    if (this.#worker)
      return this.#worker.then(
        (w) => w.invokeBatch(inputs),
        (e: unknown) => failAll(inputs, e),
      );
    if (this.#closed) return inputs.map(() => CLOSED);
    const results: InvokeResult[] = [];
    const timeoutMs = this.#options.limits.timeoutMs;
    const w = new Writer(this.#response);
    let done = 0;
    let overran = false;
    for (const input of inputs) {
      // Decode what is there before an answer could no longer fit (a 1 MiB output per call).
      if (done > 0 && w.room < RECORD_RESERVE) {
        for (const a of this.#answers(done)) results.push(a);
        w.pos = 0;
        done = 0;
      }
      this.#deadline = performance.now() + timeoutMs;
      const reason = this.#runner.runOne(w, { topic: this.#topicBytes(input.topic), payload: input.payload });
      done++;
      if (reason === 'Timeout') {
        overran = true;
        break;
      }
    }
    this.#deadline = Number.POSITIVE_INFINITY;
    for (const a of this.#answers(done)) results.push(a);
    if (!overran) return results;
    // The instance stopped mid-call and its memory may be half-written: it is dropped. The
    // rest of the batch, and every later call, runs in the function's own worker.
    const rest = inputs.slice(results.length);
    const worker = this.#demote();
    if (rest.length === 0) return results;
    return worker.then(
      async (fn) => results.concat(await fn.invokeBatch(rest)),
      (error: unknown) => results.concat(failAll(rest, error)),
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
      const table = instance.exports[DEADLINE_TABLE_EXPORT];
      if (!(table instanceof WebAssembly.Table))
        throw new Error(`the instrumented module does not export ${DEADLINE_TABLE_EXPORT}`);
      table.set(0, this.#check);
      const start = instance.exports[START_EXPORT];
      if (this.#source.hasStart && typeof start === 'function') {
        this.#deadline = performance.now() + this.#options.limits.timeoutMs;
        try {
          (start as () => void)();
        } catch (error) {
          if (!(error instanceof DeadlineExceeded)) throw error;
          this.#slowStart = true;
          throw new Error(`its start function did not finish within ${this.#options.limits.timeoutMs} ms`, {
            cause: error,
          });
        } finally {
          this.#deadline = Number.POSITIVE_INFINITY;
        }
      }
    });
    return linked;
  }

  /** Runs the guest's init; 'slow' when it overran one call deadline (the caller moves it). */
  #runInit(): InvokeResult | 'slow' {
    const w = new Writer(this.#response);
    this.#deadline = performance.now() + this.#options.limits.timeoutMs;
    const reason = this.#runner.runOne(w, undefined);
    this.#deadline = Number.POSITIVE_INFINITY;
    const [answer] = this.#answers(1);
    if (reason === 'Timeout') return 'slow';
    return answer ?? { ok: false, reason: 'InitFailed', message: 'no answer' };
  }

  #demote(): Promise<CoreFunction> {
    this.#options.log?.(
      'warn',
      `a call overran its ${this.#options.limits.timeoutMs} ms deadline on the agent's thread; the function runs in its own worker thread from now on`,
    );
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
    return readAnswers(this.#response, done, this.#options.outputs, this.#options.log);
  }

  #topicBytes(topic: string): Uint8Array {
    let bytes = this.#topics.get(topic);
    if (!bytes) {
      if (this.#topics.size >= TOPIC_CACHE_ENTRIES) this.#topics.clear();
      bytes = encoder.encode(topic);
      this.#topics.set(topic, bytes);
    }
    return bytes;
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
