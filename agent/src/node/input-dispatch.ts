// SPDX-License-Identifier: Apache-2.0
// Where a sensor reading goes: the functions whose filters match its topic (cached per topic),
// one copy per function when the broker sends several (subscription identifiers, ADR 0024),
// gathered into one batch per function per socket read and handed to its worker together.
import { topicMatches } from '@wasmfleet/api';
import { checkPayload } from '../io/payload-check.ts';
import type { OrderedAcks } from '../mqtt/ordered-acks.ts';
import { designatedFilter } from '../mqtt/subscription-plan.ts';
import type { FunctionMessage, InvokeResult, LogLevel } from '../runtime/types.ts';
import type { InputBackpressure } from './input-backpressure.ts';
import type { ManagedFunction, Route } from './managed-function.ts';
import { sensorName, type SensorRegistry } from './sensor-registry.ts';

/** The subscription identifiers a copy carries (MQTT 5), if any. */
export type CopyIds = number | readonly number[] | undefined;

export function carries(ids: number | readonly number[], id: number): boolean {
  return typeof ids === 'number' ? ids === id : ids.includes(id);
}

/** Inputs for one function gathered during one socket read: one hand-off to its worker. */
export interface Batch {
  readonly inputs: FunctionMessage[];
  /** OrderedAcks sequence per input, -1 for QoS 0. */
  readonly seqs: number[];
  /** Inputs counted in the agent's backlog (those for a Running function). */
  counted: number;
}

/** A function's entry in the dispatch between reads: no batch (see InputDispatch.#batches). */
const IDLE = 0;

/** A function serving inputs, and the filters of its earlier revisions still delivering copies. */
export interface ServingFunction {
  readonly serving: ManagedFunction;
  readonly retiring: readonly string[];
}

/** Where inputs on one topic go, and the sensor the topic names (cached per topic). */
interface Routing {
  readonly targets: readonly Target[];
  readonly sensor: string;
}

/** Where inputs on one topic go (cached per topic; rebuilt when functions or routes change). */
interface Target {
  readonly fn: ManagedFunction;
  readonly route: Route;
  /** Identifier of the subscription whose copy the function takes (identifier mode only). */
  readonly designatedId: number | undefined;
  /** Identifier of the function's own first matching filter: its retained copies come from it. */
  readonly ownId: number | undefined;
}

export interface InputDispatchOptions {
  readonly functions: () => Iterable<ServingFunction>;
  /** The identifier of the subscription held for a filter (identifier mode only). */
  readonly idOf: (filter: string) => number | undefined;
  readonly sensors: SensorRegistry;
  readonly backpressure: InputBackpressure;
  readonly acks: () => OrderedAcks | undefined;
  readonly log: (level: LogLevel, text: string) => void;
  /** A function answered a batch. */
  readonly deliver: (fn: ManagedFunction, batch: Batch, results: readonly InvokeResult[]) => void;
}

export class InputDispatch {
  readonly #o: InputDispatchOptions;
  /** Per input topic: the functions it goes to, and the sensor it names (derived once). */
  readonly #targets = new Map<string, Routing>();
  /**
   * Each function's batch of the current read, or IDLE. Entries stay from one read to the next
   * and the flush overwrites each value with IDLE: a long-lived map must never point at a read's
   * inputs once they are handed over. (Map.clear() per read left every cleared entry in the
   * table it retired, which V8 keeps until a full GC — so each read's batch, inputs and payloads
   * survived scavenges and were promoted: ~190 KB a scavenge at 1k msg/s, docs/adr/0047.)
   */
  readonly #batches = new Map<ManagedFunction, Batch | typeof IDLE>();
  /** Functions with a batch in the current read, in the order their first input came. */
  #pending: ManagedFunction[] = [];
  #flushQueued = false;

  constructor(options: InputDispatchOptions) {
    this.#o = options;
  }

  /** Forget every topic's targets: which function serves a topic, or which copy it takes, changed. */
  invalidate(): void {
    this.#targets.clear();
    // Functions that came and went leave no entry behind (none is pending: their batch is IDLE).
    for (const [fn, batch] of this.#batches) if (batch === IDLE) this.#batches.delete(fn);
  }

  /**
   * Adds one input to the batch of every function subscribed to it. A copy that names the
   * subscriptions it came through goes only to the functions whose designated subscription it
   * names (a retained copy: whose own filter's), so each reading runs each function once.
   */
  dispatch(topic: string, payload: Uint8Array, seq: number, ids: CopyIds, retained: boolean): void {
    const { targets, sensor } = this.#targets.get(topic) ?? this.#resolveTargets(topic);
    if (targets.length === 0) return;
    const now = Date.now();
    let input: FunctionMessage | undefined;
    let seen = false;
    for (const { fn, route, designatedId, ownId } of targets) {
      const takes = retained ? ownId : designatedId;
      if (ids !== undefined && takes !== undefined && !carries(ids, takes)) continue;
      if (!seen) {
        seen = true;
        const unreported = this.#o.sensors.seen(topic, now, sensor);
        if (unreported) this.#o.log('warn', unreported);
      }
      const verdict = checkPayload(payload, route.format, fn.spec.limits.maxPayloadBytes);
      if (!verdict.ok) {
        fn.metrics.recordMalformed(`malformed input on ${topic}: ${verdict.problem}`);
        continue;
      }
      input ??= { topic, payload, timestampMs: now };
      this.#add(fn, input, seq);
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      // mqtt.js handles the packets of one socket read in a chain of process.nextTick calls;
      // microtasks run only once that chain is done, so this flush sees the whole read.
      queueMicrotask(this.#flush);
    }
  }

  #add(fn: ManagedFunction, input: FunctionMessage, seq: number): void {
    let batch = this.#batches.get(fn);
    if (batch === undefined || batch === IDLE) {
      batch = { inputs: [], seqs: [], counted: 0 };
      this.#batches.set(fn, batch);
      this.#pending.push(fn);
    }
    batch.inputs.push(input);
    batch.seqs.push(seq);
    if (seq >= 0) this.#o.acks()?.hold(seq);
    if (fn.phase === 'Running') {
      batch.counted++;
      this.#o.backpressure.started(1);
    }
  }

  #resolveTargets(topic: string): Routing {
    const targets: Target[] = [];
    const matches = (filter: string): boolean => topicMatches(filter, topic);
    for (const entry of this.#o.functions()) {
      const fn = entry.serving;
      const route = fn.routes.find((r) => matches(r.filter));
      if (!route) continue;
      const designated = designatedFilter(
        entry.retiring,
        fn.routes.map((r) => r.filter),
        matches,
      );
      targets.push({
        fn,
        route,
        designatedId: designated === undefined ? undefined : this.#o.idOf(designated),
        ownId: this.#o.idOf(route.filter),
      });
    }
    // Bounded: a wildcard filter over an unbounded topic space must not grow this forever.
    if (this.#targets.size >= 4096) this.#targets.clear();
    const routing = { targets, sensor: sensorName(topic) };
    this.#targets.set(topic, routing);
    return routing;
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    // A read that comes while these run starts a list of its own.
    this.#pending = [];
    for (const fn of pending) {
      const batch = this.#batches.get(fn);
      if (batch === undefined || batch === IDLE) continue;
      this.#batches.set(fn, IDLE);
      const answer = fn.invokeBatch(batch.inputs);
      if (answer instanceof Promise) void answer.then((results) => this.#o.deliver(fn, batch, results));
      else this.#o.deliver(fn, batch, answer);
    }
  };
}
