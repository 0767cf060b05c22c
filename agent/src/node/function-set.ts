// SPDX-License-Identifier: Apache-2.0
// The functions this node runs, converged on a desired document's list: new ones started, changed
// ones replaced by their new revision once it runs (the old one finishes what it has), removed
// ones stopped. It also says which input filters the functions want and what they report.
import { functionKey, type DesiredFunction, type FunctionStatusReport } from '@wasmfleet/api';
import type { Qos } from '../mqtt/subscription-plan.ts';
import { plan } from '../reconcile/plan.ts';
import type { FunctionThread } from '../runtime/types.ts';
import { ManagedFunction, type FunctionContext } from './managed-function.ts';

interface Entry {
  serving: ManagedFunction;
  /** A new revision starting up; it takes over once Running (or Failed). */
  next?: ManagedFunction;
  /**
   * Input filters of earlier revisions the broker may still send copies from: while it does,
   * the function keeps taking the copies of those (designatedFilter), oldest first.
   */
  retiring: string[];
}

export interface FunctionSetOptions {
  readonly context: () => FunctionContext;
  /** Which functions serve which filters changed: subscribe to what `wanted()` says. */
  readonly routesChanged: () => void;
}

export class FunctionSet {
  readonly #o: FunctionSetOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: FunctionSetOptions) {
    this.#o = options;
  }

  /** Each function's serving revision and the filters its earlier revisions still hold. */
  serving(): Iterable<Entry> {
    return this.#entries.values();
  }

  /** Starts, replaces and stops functions to match `desired`; resolves once the started ones settled. */
  converge(desired: readonly DesiredFunction[]): Promise<void> {
    const running = [...this.#entries.values()].map((e) => ({
      key: e.serving.key,
      revision: (e.next ?? e.serving).spec.revision,
    }));
    const actions = plan(desired, running);
    const ctx = this.#o.context();
    const starts: Promise<void>[] = [];
    for (const spec of actions.start) {
      const fn = new ManagedFunction(spec, ctx);
      this.#entries.set(fn.key, { serving: fn, retiring: [] });
      starts.push(fn.start());
    }
    for (const spec of actions.replace) {
      const entry = this.#entries.get(functionKey(spec));
      if (entry) starts.push(this.#replace(entry, new ManagedFunction(spec, ctx)));
    }
    for (const key of actions.stop) {
      const entry = this.#entries.get(key);
      this.#entries.delete(key);
      void entry?.next?.stop();
      void entry?.serving.stop();
    }
    this.#o.routesChanged();
    return Promise.all(starts).then(() => undefined);
  }

  #replace(entry: Entry, next: ManagedFunction): Promise<void> {
    const superseded = entry.next;
    entry.next = next;
    void superseded?.stop();
    return next.start().then(async () => {
      if (entry.next !== next) return;
      // Switch over: new inputs go to the new revision; the old one finishes what it has.
      const old = entry.serving;
      entry.serving = next;
      delete entry.next;
      for (const { filter } of old.routes)
        if (!next.routes.some((r) => r.filter === filter) && !entry.retiring.includes(filter))
          entry.retiring.push(filter);
      this.#o.routesChanged();
      await old.stop();
    });
  }

  /** Every input filter a function (or a revision starting up) reads, at the highest QoS asked. */
  wanted(): Map<string, Qos> {
    const wanted = new Map<string, Qos>();
    for (const e of this.#entries.values()) {
      for (const fn of [e.serving, e.next]) {
        for (const r of fn?.routes ?? [])
          wanted.set(r.filter, Math.max(wanted.get(r.filter) ?? 0, r.qos) as Qos);
      }
    }
    return wanted;
  }

  /** The broker confirmed it dropped `filter`: no copy comes from it any more. */
  released(filter: string): void {
    for (const entry of this.#entries.values())
      if (entry.retiring.includes(filter)) entry.retiring = entry.retiring.filter((f) => f !== filter);
  }

  /** Running functions by where their calls run (the /metrics gauge; ADR 0018). */
  threads(): Record<FunctionThread, number> {
    const counts: Record<FunctionThread, number> = { agent: 0, worker: 0 };
    for (const e of this.#entries.values())
      for (const fn of [e.serving, e.next]) if (fn?.thread) counts[fn.thread]++;
    return counts;
  }

  /** One report per function: the revision starting up until it runs, then the serving one. */
  reports(): FunctionStatusReport[] {
    return [...this.#entries.values()].map((e) =>
      (e.next && e.next.phase !== 'Running' ? e.next : e.serving).report(),
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.#entries.values()].flatMap((e) =>
        e.next ? [e.serving.stop(), e.next.stop()] : [e.serving.stop()],
      ),
    );
    this.#entries.clear();
  }
}
