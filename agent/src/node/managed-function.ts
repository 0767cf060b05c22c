// One function revision on this node: drives its lifecycle (fetch → start → run, crash-loop
// backoff), owns the loaded instance, its metrics and its persisted state, and queues inputs that
// arrive while it is still starting so none is dropped across a start or a replacement.
import path from 'node:path';
import { expandNode, functionKey, type DesiredFunction, type FunctionStatusReport } from '@wasmfleet/api';
import {
  initialState,
  transition,
  healthy,
  type LifecycleEvent,
  type LifecycleState,
} from '../lifecycle/function-lifecycle.ts';
import { FunctionMetrics } from '../metrics/latency.ts';
import { LoadError } from '../runtime/errors.ts';
import type {
  FunctionMessage,
  InvokeResult,
  LoadFunction,
  LoadedFunction,
  LogLevel,
} from '../runtime/types.ts';
import { FileState } from '../state/file-state.ts';
import { fetchModule, type ModuleSource } from '../store/fetch-module.ts';
import { ModuleStore, StoreError } from '../store/module-store.ts';

/** Failures that show the module itself is broken: retrying the same revision cannot help. */
const FATAL = new Set([
  'InvalidModule',
  'MissingImport',
  'MissingExport',
  'ModuleTooLarge',
  'OutOfMemory',
  'DigestMismatch',
  'StoreFull',
]);
/** Consecutive failed calls of these kinds count as a crash. Guest errors do not: they are answers. */
const CRASHING = new Set(['Trap', 'Timeout', 'OutOfMemory']);
export const CRASH_AFTER_FAILURES = 5;
const MAX_QUEUED = 10_000;

export interface FunctionContext {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly store: ModuleStore;
  readonly sources: readonly ModuleSource[];
  readonly referenced: () => ReadonlySet<string>;
  readonly load: LoadFunction;
  readonly log: (fn: ManagedFunction, level: LogLevel, text: string) => void;
  /** Something visible changed: phase, reason. */
  readonly changed: () => void;
  readonly now?: () => number;
}

export interface Route {
  readonly filter: string;
  readonly qos: 0 | 1;
  readonly format: 'raw' | 'json' | 'senml';
}

interface Queued {
  readonly input: FunctionMessage;
  readonly resolve: (r: InvokeResult) => void;
}

export class ManagedFunction {
  readonly spec: DesiredFunction;
  readonly key: string;
  readonly routes: readonly Route[];
  readonly outputs: readonly { topic: string; qos: 0 | 1; retain: boolean }[];
  readonly metrics = new FunctionMetrics();
  #state: LifecycleState;
  #instance: LoadedFunction | undefined;
  #queue: Queued[] = [];
  #failuresInRow = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #inFlight = new Set<Promise<InvokeResult>>();
  readonly #ctx: FunctionContext;
  readonly #now: () => number;

  constructor(spec: DesiredFunction, ctx: FunctionContext) {
    this.spec = spec;
    this.key = functionKey(spec);
    this.#ctx = ctx;
    this.#now = ctx.now ?? Date.now;
    this.#state = initialState(this.#now());
    this.routes = spec.inputs.map((i) => ({
      filter: expandNode(i.topic, ctx.nodeId),
      qos: i.qos,
      format: i.format,
    }));
    this.outputs = spec.outputs.map((o) => ({
      topic: expandNode(o.topic, ctx.nodeId),
      qos: o.qos,
      retain: o.retain,
    }));
  }

  get phase(): LifecycleState['phase'] {
    return this.#state.phase;
  }

  get lifecycle(): LifecycleState {
    return this.#state;
  }

  #to(event: LifecycleEvent): void {
    this.#state = transition(this.#state, event, this.#now());
    this.#ctx.changed();
  }

  /** Re-read after every await: stop() may have run meanwhile (a method defeats narrowing). */
  #isStopped(): boolean {
    return this.#stopped;
  }

  /** Runs Pending → … → Running (or Failed / CrashLoopBackOff). Resolves when settled. */
  async start(): Promise<void> {
    if (this.#stopped || this.#state.phase !== 'Pending') return;
    this.#to({ type: 'fetch' });
    let bytes: Uint8Array;
    try {
      bytes = await fetchModule(this.#ctx.store, this.spec.module, {
        sources: this.#ctx.sources,
        referenced: this.#ctx.referenced(),
      });
    } catch (error) {
      if (this.#isStopped()) return;
      const reason = error instanceof StoreError ? error.reason : 'FetchFailed';
      this.#fail(reason, (error as Error).message);
      return;
    }
    if (this.#isStopped()) return;
    this.#to({ type: 'fetched' });
    try {
      const state = await FileState.open(
        path.join(this.#ctx.dataDir, 'state', `${this.spec.namespace}__${this.spec.name}.json`),
      );
      const instance = await this.#ctx.load(bytes, {
        outputs: this.outputs.map((o) => o.topic),
        config: this.spec.config,
        limits: {
          memoryBytes: this.spec.limits.memoryBytes,
          timeoutMs: this.spec.limits.timeoutMs,
          maxModuleBytes: this.spec.limits.maxModuleBytes ?? this.#ctx.store.maxBlobBytes,
        },
        log: (level, text) => this.#ctx.log(this, level, text),
        state,
      });
      if (this.#isStopped()) {
        await instance.close();
        return;
      }
      this.#instance = instance;
      this.#to({ type: 'started' });
      this.#drain();
    } catch (error) {
      if (this.#isStopped()) return;
      const reason = error instanceof LoadError ? error.reason : 'InitFailed';
      this.#fail(reason, (error as Error).message);
    }
  }

  /** `duringStart`: a broken module is final; at run time every failure is a crash to back off from. */
  #fail(reason: string, message: string, duringStart = true): void {
    if (duringStart && FATAL.has(reason)) {
      this.#to({ type: 'fatal', reason, message });
      this.#flushQueue(`the function failed to start: ${reason}`);
      return;
    }
    this.#to({ type: 'crashed', reason, message });
    this.#flushQueue(`the function is in CrashLoopBackOff: ${reason}`);
    const delay = Math.max(0, (this.#state.nextRetryAt ?? this.#now()) - this.#now());
    this.#retryTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#to({ type: 'retry' });
      void this.start();
    }, delay);
  }

  /**
   * Invokes the function, or queues the input while it starts. A function that cannot run
   * (Failed, CrashLoopBackOff, stopped) answers with an error at once, so the input is acked.
   */
  invoke(input: FunctionMessage): Promise<InvokeResult> {
    const phase = this.#state.phase;
    if (phase === 'Running' && this.#instance) return this.#call(this.#instance, input);
    if (
      !this.#stopped &&
      (phase === 'Pending' || phase === 'Fetching' || phase === 'Starting') &&
      this.#queue.length < MAX_QUEUED
    ) {
      return new Promise((resolve) => this.#queue.push({ input, resolve }));
    }
    return Promise.resolve({ ok: false, reason: 'Trap', message: `the function is ${phase}; input dropped` });
  }

  #call(instance: LoadedFunction, input: FunctionMessage): Promise<InvokeResult> {
    const call = this.#callAndRecord(instance, input);
    this.#inFlight.add(call);
    void call.finally(() => this.#inFlight.delete(call));
    return call;
  }

  async #callAndRecord(instance: LoadedFunction, input: FunctionMessage): Promise<InvokeResult> {
    const t0 = performance.now();
    const result = await instance.invoke(input);
    this.metrics.recordCall(
      (performance.now() - t0) * 1000,
      result.ok,
      result.ok ? undefined : `${result.reason}: ${result.message}`,
    );
    if (result.ok || !CRASHING.has(result.reason)) {
      if (this.#failuresInRow > 0 || this.#state.crashes > 0) {
        this.#failuresInRow = 0;
        this.#state = healthy(this.#state);
      }
    } else if (
      ++this.#failuresInRow >= CRASH_AFTER_FAILURES &&
      this.#instance === instance &&
      this.#state.phase === 'Running'
    ) {
      this.#failuresInRow = 0;
      this.#instance = undefined;
      void instance.close();
      this.#fail(
        result.reason,
        `${CRASH_AFTER_FAILURES} calls in a row failed; last: ${result.message}`,
        false,
      );
    }
    return result;
  }

  #drain(): void {
    const queued = this.#queue;
    this.#queue = [];
    const instance = this.#instance;
    for (const q of queued) {
      if (instance) void this.#call(instance, q.input).then(q.resolve);
      else q.resolve({ ok: false, reason: 'Trap', message: 'the function is not running; input dropped' });
    }
  }

  #flushQueue(message: string): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const q of queued) q.resolve({ ok: false, reason: 'Trap', message });
  }

  /** Stops taking inputs; queued ones are answered; in-flight calls finish on the old instance. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#flushQueue('the function was stopped');
    const instance = this.#instance;
    this.#instance = undefined;
    // Let accepted inputs finish on this revision: closing mid-call would lose them.
    await Promise.allSettled([...this.#inFlight]);
    await instance?.close();
  }

  report(): FunctionStatusReport {
    const s = this.#state;
    const p50 = this.metrics.percentile(50);
    const p99 = this.metrics.percentile(99);
    return {
      namespace: this.spec.namespace,
      name: this.spec.name,
      revision: this.spec.revision,
      phase: s.phase,
      ...(s.reason !== undefined && s.phase !== 'Running' ? { reason: s.reason } : {}),
      ...(s.message !== undefined && s.phase !== 'Running' ? { message: s.message.slice(0, 1024) } : {}),
      since: new Date(s.since).toISOString(),
      restarts: s.restarts,
      ...(s.nextRetryAt !== undefined && s.phase === 'CrashLoopBackOff'
        ? { nextRetryAt: new Date(s.nextRetryAt).toISOString() }
        : {}),
      invocations: this.metrics.invocations,
      errors: this.metrics.errors,
      malformed: this.metrics.malformed,
      ...(p50 !== undefined ? { latencyP50Us: p50 } : {}),
      ...(p99 !== undefined ? { latencyP99Us: p99 } : {}),
      ...(this.metrics.lastError !== undefined ? { lastError: this.metrics.lastError.slice(0, 1024) } : {}),
    };
  }
}
