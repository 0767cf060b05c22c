// SPDX-License-Identifier: Apache-2.0
// One function revision on this node: drives its lifecycle (fetch → start → run, crash-loop
// backoff), owns the loaded instance, its metrics and its persisted state, and queues inputs that
// arrive while it is still starting so none is dropped across a start or a replacement.
// Inputs reach the instance in batches, one batch at a time: what arrives while a batch runs is
// coalesced into the next one. Every batch settles: the runtime's own per-call deadline is backed
// by a watchdog here, and stop() waits a bounded time.
import {
  callsFailing,
  expandNode,
  functionKey,
  functionTopicProblem,
  SIGNATURE_REASONS,
  topicMatches,
  verifyModuleSignatures,
  type DesiredFunction,
  type FunctionStatusReport,
  type SignaturePolicy,
} from '@wasmfleet/api';
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
  FunctionThread,
  InvokeResult,
  LoadFunction,
  LoadedFunction,
  LogLevel,
} from '../runtime/types.ts';
import { FileState } from '../state/file-state.ts';
import { adoptLegacyStateFile, stateFile } from '../state/state-file.ts';
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
  // A signature verdict is about these bytes and these signatures: a new revision must change them.
  ...SIGNATURE_REASONS,
  'InvalidTopic',
]);
/** Consecutive failed calls of these kinds count as a crash. Guest errors do not: they are answers. */
const CRASHING = new Set(['Trap', 'Timeout', 'OutOfMemory']);
export const CRASH_AFTER_FAILURES = 5;
const MAX_QUEUED = 10_000;
/**
 * A runtime answers every call within its deadline (the core runtime terminates an overrunning
 * worker and starts a fresh one, bounded by the compile timeout). This watchdog only catches a
 * runtime bug: without it one unsettled call would hold every later QoS 1 acknowledgement.
 */
export const WATCHDOG_GRACE_MS = 15_000;
/** stop() lets accepted inputs finish, but not for longer than their deadlines plus this. */
const STOP_GRACE_MS = 2_000;

/** A runtime that takes many inputs per call (the core runtime does); others get one at a time. */
interface BatchingFunction extends LoadedFunction {
  invokeBatch(inputs: readonly FunctionMessage[]): InvokeResult[] | Promise<InvokeResult[]>;
}

function canBatch(fn: LoadedFunction): fn is BatchingFunction {
  return typeof (fn as Partial<BatchingFunction>).invokeBatch === 'function';
}

export type BatchAnswer = readonly InvokeResult[] | Promise<readonly InvokeResult[]>;

interface Waiting {
  readonly inputs: FunctionMessage[];
  readonly parts: {
    readonly from: number;
    readonly count: number;
    resolve(r: readonly InvokeResult[]): void;
  }[];
}

function topicProblem(
  routes: readonly { readonly filter: string }[],
  outputs: readonly { readonly topic: string }[],
): string | undefined {
  for (const { filter } of routes) {
    const problem = functionTopicProblem(filter, 'input');
    if (problem) return `input topic ${JSON.stringify(filter)}: ${problem}`;
  }
  for (const { topic } of outputs) {
    const problem = functionTopicProblem(topic, 'output');
    if (problem) return `output topic ${JSON.stringify(topic)}: ${problem}`;
    // The broker would hand every output back as an input: an endless loop at full speed.
    const loop = routes.find((r) => topicMatches(r.filter, topic));
    if (loop)
      return `output topic ${JSON.stringify(topic)} matches the function's own input filter ${JSON.stringify(loop.filter)}: every output would come back as an input, in an endless loop; publish under a prefix the inputs do not cover`;
  }
  return undefined;
}

function notRunning(phase: string): InvokeResult {
  return { ok: false, reason: 'Trap', message: `the function is ${phase}; input dropped` };
}

function runtimeFailure(error: unknown): InvokeResult {
  return { ok: false, reason: 'Trap', message: `the runtime failed: ${String(error)}` };
}

export interface FunctionContext {
  readonly nodeId: string;
  readonly dataDir: string;
  readonly store: ModuleStore;
  readonly sources: readonly ModuleSource[];
  readonly referenced: () => ReadonlySet<string>;
  readonly load: LoadFunction;
  /** The device's own trust: checked after the digest, before anything is compiled. */
  readonly signatures: SignaturePolicy;
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
  readonly inputs: readonly FunctionMessage[];
  readonly resolve: (r: BatchAnswer) => void;
}

export class ManagedFunction {
  readonly spec: DesiredFunction;
  readonly key: string;
  readonly routes: readonly Route[];
  readonly outputs: readonly {
    topic: string;
    qos: 0 | 1;
    retain: boolean;
    /** mqtt.js publish options, built once (mqtt.js copies them, so sharing is safe). */
    publish: { readonly qos: 0 | 1; readonly retain: boolean };
  }[];
  readonly metrics = new FunctionMetrics();
  #state: LifecycleState;
  #instance: LoadedFunction | undefined;
  /** The guest's state; written out on stop so the last 200 ms of state_set calls survive it. */
  #fileState: FileState | undefined;
  #queue: Queued[] = [];
  #queuedInputs = 0;
  #failuresInRow = 0;
  /** Whether most recent calls failed, as last reported (api callsFailing). */
  #callsFailing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The batch the instance is running (asynchronously), if any. */
  #running: Promise<unknown> | undefined;
  /** Inputs that arrived while a batch ran: the next batch. */
  #waiting: Waiting | undefined;
  readonly #ctx: FunctionContext;
  readonly #now: () => number;
  /** Why a declared topic cannot be used; such a function fails at start and never subscribes. */
  readonly #topicProblem: string | undefined;

  constructor(spec: DesiredFunction, ctx: FunctionContext) {
    this.spec = spec;
    this.key = functionKey(spec);
    this.#ctx = ctx;
    this.#now = ctx.now ?? Date.now;
    this.#state = initialState(this.#now());
    const routes = spec.inputs.map((i) => ({
      filter: expandNode(i.topic, ctx.nodeId),
      qos: i.qos,
      format: i.format,
    }));
    const outputs = spec.outputs.map((o) => ({
      topic: expandNode(o.topic, ctx.nodeId),
      qos: o.qos,
      retain: o.retain,
      publish: { qos: o.qos, retain: o.retain },
    }));
    this.#topicProblem = topicProblem(routes, outputs);
    this.routes = this.#topicProblem === undefined ? routes : [];
    this.outputs = this.#topicProblem === undefined ? outputs : [];
  }

  /** Where the running instance's calls run; undefined while none runs. */
  get thread(): FunctionThread | undefined {
    return this.#instance?.thread;
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
    if (this.#topicProblem !== undefined) {
      this.#fail('InvalidTopic', this.#topicProblem);
      return;
    }
    this.#to({ type: 'fetch' });
    const bytes = await this.#fetch();
    if (bytes === undefined || this.#isStopped() || !this.#signaturesAccepted()) return;
    this.#to({ type: 'fetched' });
    await this.#load(bytes);
  }

  /** The module's bytes from the store (fetched into it if needed); undefined once failed. */
  async #fetch(): Promise<Uint8Array | undefined> {
    try {
      return await fetchModule(this.#ctx.store, this.spec.module, {
        sources: this.#ctx.sources,
        referenced: this.#ctx.referenced(),
      });
    } catch (error) {
      if (this.#isStopped()) return undefined;
      const reason = error instanceof StoreError ? error.reason : 'FetchFailed';
      this.#fail(reason, (error as Error).message);
      return undefined;
    }
  }

  /**
   * The store has checked the bytes against spec.module.sha256; the signature check binds that
   * digest to a key this device trusts. Nothing reaches the compiler before both pass.
   */
  #signaturesAccepted(): boolean {
    const verdict = verifyModuleSignatures(
      this.spec.module.sha256,
      this.spec.module.signatures,
      this.#ctx.signatures,
    );
    if (!verdict.ok) {
      this.#ctx.log(this, 'error', `refused: ${verdict.reason}: ${verdict.message}`);
      this.#fail(verdict.reason, verdict.message);
      return false;
    }
    if (verdict.keyId !== undefined)
      this.#ctx.log(this, 'info', `module signature verified (${verdict.kind}, key ${verdict.keyId})`);
    return true;
  }

  /** Compiles and instantiates the module with its state file: Running, or failed. */
  async #load(bytes: Uint8Array): Promise<void> {
    try {
      const { dataDir } = this.#ctx;
      await adoptLegacyStateFile(dataDir, this.spec.namespace, this.spec.name);
      const state = await FileState.open(stateFile(dataDir, this.spec.namespace, this.spec.name));
      this.#fileState = state;
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

  /** One input; see invokeBatch. */
  invoke(input: FunctionMessage): Promise<InvokeResult> {
    return Promise.resolve(this.invokeBatch([input])).then((r) => r[0] ?? notRunning('stopped'));
  }

  /**
   * Invokes the function on every input, in order, one answer each; or queues the inputs while it
   * starts. A function that cannot run (Failed, CrashLoopBackOff, stopped) answers with errors at
   * once, so the inputs are acked. Synchronous when the runtime answers at once.
   */
  invokeBatch(inputs: readonly FunctionMessage[]): BatchAnswer {
    const phase = this.#state.phase;
    const instance = this.#instance;
    if (phase === 'Running' && instance) {
      if (this.#running) return this.#coalesce(inputs);
      return this.#run(instance, inputs);
    }
    if (
      !this.#stopped &&
      (phase === 'Pending' || phase === 'Fetching' || phase === 'Starting') &&
      this.#queuedInputs + inputs.length <= MAX_QUEUED
    ) {
      this.#queuedInputs += inputs.length;
      return new Promise((resolve) => this.#queue.push({ inputs, resolve }));
    }
    return inputs.map(() => notRunning(phase));
  }

  /** Adds inputs to the batch that runs after the current one. */
  #coalesce(inputs: readonly FunctionMessage[]): Promise<readonly InvokeResult[]> {
    const waiting = (this.#waiting ??= { inputs: [], parts: [] });
    return new Promise((resolve) => {
      waiting.parts.push({ from: waiting.inputs.length, count: inputs.length, resolve });
      for (const input of inputs) waiting.inputs.push(input);
    });
  }

  /** Runs the coalesced inputs, if any, once the current batch is done. */
  #next(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = undefined;
    const deliver = (results: readonly InvokeResult[]): void => {
      for (const p of waiting.parts) p.resolve(results.slice(p.from, p.from + p.count));
    };
    const instance = this.#instance;
    const answer: BatchAnswer = instance
      ? this.#run(instance, waiting.inputs, deliver)
      : waiting.inputs.map(() => notRunning(this.#stopped ? 'stopped' : this.#state.phase));
    if (!(answer instanceof Promise)) deliver(answer);
  }

  /**
   * Runs one batch. `settle` answers a coalesced batch's callers when it runs asynchronously: it is
   * called before the next batch starts, so a next batch the runtime answers at once (a worker's
   * fast path) cannot be answered, and its outputs published, before this one's.
   */
  #run(
    instance: LoadedFunction,
    inputs: readonly FunctionMessage[],
    settle?: (results: readonly InvokeResult[]) => void,
  ): BatchAnswer {
    const t0 = performance.now();
    let answer: BatchAnswer;
    try {
      answer = canBatch(instance)
        ? instance.invokeBatch(inputs)
        : Promise.all(inputs.map((input) => instance.invoke(input)));
    } catch (error) {
      answer = inputs.map(() => runtimeFailure(error));
    }
    if (!(answer instanceof Promise)) {
      this.#record(instance, answer, t0);
      return answer;
    }
    const running = this.#watch(instance, inputs.length, answer).then((results) => {
      this.#record(instance, results, t0);
      return results;
    });
    this.#running = running;
    void running.then((results) => {
      if (this.#running === running) this.#running = undefined;
      settle?.(results);
      this.#next();
    });
    return running;
  }

  /** Settles the batch even if the runtime never answers (see WATCHDOG_GRACE_MS). */
  #watch(
    instance: LoadedFunction,
    count: number,
    answer: Promise<readonly InvokeResult[]>,
  ): Promise<readonly InvokeResult[]> {
    return new Promise((resolve) => {
      const limitMs = this.spec.limits.timeoutMs * (count + 1) + WATCHDOG_GRACE_MS;
      const timer = setTimeout(() => {
        const message = `the runtime did not answer ${count} calls within ${limitMs} ms; the instance was stopped`;
        resolve(Array.from({ length: count }, () => ({ ok: false, reason: 'Timeout', message }) as const));
        void instance.close().catch(() => undefined);
      }, limitMs);
      answer.then(
        (results) => {
          clearTimeout(timer);
          resolve(results);
        },
        (error: unknown) => {
          clearTimeout(timer);
          resolve(Array.from({ length: count }, () => runtimeFailure(error)));
        },
      );
    });
  }

  #record(instance: LoadedFunction, results: readonly InvokeResult[], t0: number): void {
    // One hand-off runs the whole batch: each call is charged its share of the batch's time.
    const micros = ((performance.now() - t0) * 1000) / Math.max(1, results.length);
    for (const result of results) {
      this.metrics.recordCall(
        micros,
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
    }
    // Crossing the failing line is news the operator should not wait a heartbeat for (ADR 0022).
    const failing = callsFailing(this.metrics);
    if (failing !== this.#callsFailing) {
      this.#callsFailing = failing;
      this.#ctx.changed();
    }
  }

  #drain(): void {
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedInputs = 0;
    for (const q of queued) q.resolve(this.invokeBatch(q.inputs));
  }

  #flushQueue(message: string): void {
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedInputs = 0;
    for (const q of queued) q.resolve(q.inputs.map(() => ({ ok: false, reason: 'Trap', message }) as const));
  }

  /**
   * Stops taking inputs; queued ones are answered; accepted ones finish on this revision (closing
   * mid-call would lose them), but stop() never waits longer than their deadlines allow.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#flushQueue('the function was stopped');
    const limitMs = this.spec.limits.timeoutMs * ((this.#waiting?.inputs.length ?? 0) + 2) + STOP_GRACE_MS;
    const until = Date.now() + limitMs;
    while (this.#running && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#running,
        new Promise((resolve) => (timer = setTimeout(resolve, until - Date.now()))),
      ]);
      clearTimeout(timer);
      // #running is replaced by the coalesced batch, if there was one.
      await Promise.resolve();
    }
    const instance = this.#instance;
    this.#instance = undefined;
    await instance?.close();
    await this.#fileState?.flush().catch((error: unknown) => {
      this.#ctx.log(this, 'error', `could not save the function's state: ${String(error)}`);
    });
    this.#next(); // anything still coalesced is answered (as stopped) rather than left hanging
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
      ...(this.metrics.invocations > 0
        ? { recentCalls: this.metrics.recentCalls, recentErrors: this.metrics.recentErrors }
        : {}),
      ...(p50 !== undefined ? { latencyP50Us: p50 } : {}),
      ...(p99 !== undefined ? { latencyP99Us: p99 } : {}),
      ...(this.metrics.lastError !== undefined ? { lastError: this.metrics.lastError.slice(0, 1024) } : {}),
    };
  }
}
