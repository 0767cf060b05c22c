// SPDX-License-Identifier: Apache-2.0
// How soon a device report may wake a function's reconcile. A reconcile walks every device the
// function targets (placement, rollout decision, status aggregate), and during a status wave —
// a fleet reporting a new revision after `apply` or a rollout step — every report used to wake
// the function again, so reconciles ran back to back for the whole wave: O(devices) each, most of
// the operator's CPU at 10,000 devices (ADR 0045). A report now waits at least twice as long as
// the latest function reconcile took, so reconciles take at most about a third of the thread
// however big the fleet, and a small fleet still hears back within 50 ms. Spec changes (the
// informer) still reconcile at once.
//
// What counts is the time a reconcile holds the thread, not its wait for the broker: publishing a
// fleet's documents takes seconds of PUBACKs while the thread serves device reports, and pacing on
// that made the next reports wait seconds for nothing. The ceiling is 10 s (was 1 s): at 100,000
// devices a reconcile can take more than half a second, and a 1 s ceiling let reconciles take most
// of the thread (issue 18, ADR 0057). A timed requeue the reconcile asks for (a deferred status
// write, a rollout's next look) is paced the same way, or it would undo the rule.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ReconcileResult } from '../kube/index.ts';

const MIN_DELAY_MS = 50;
const MAX_DELAY_MS = 10_000;

/** The running reconcile's time spent waiting on others (see `unpaced`). */
const waits = new AsyncLocalStorage<{ ms: number }>();

/**
 * Runs `work` (publishing documents) without its duration counting as the running reconcile's
 * time: it waits on the broker, not the thread.
 */
export async function unpaced<T>(
  work: () => Promise<T>,
  now: () => number = () => performance.now(),
): Promise<T> {
  const store = waits.getStore();
  const started = now();
  try {
    return await work();
  } finally {
    if (store) store.ms += now() - started;
  }
}

export class ReconcilePacing {
  #lastMs = 0;

  /** A function reconcile took `ms` of the thread's time (wall time, less what `unpaced` waited). */
  record(ms: number): void {
    this.#lastMs = ms;
  }

  /** How long a report's wake waits now. */
  get delayMs(): number {
    return Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, 2 * this.#lastMs));
  }

  /**
   * Wraps a reconcile so each run records how long it took, and a requeue it asks for waits at
   * least as long as a report's wake.
   */
  timed<A>(
    reconcile: (arg: A) => Promise<ReconcileResult | undefined>,
    now: () => number = () => performance.now(),
  ) {
    return async (arg: A): Promise<ReconcileResult | undefined> => {
      const started = now();
      const waited = { ms: 0 };
      let result: ReconcileResult | undefined;
      try {
        result = await waits.run(waited, () => reconcile(arg));
      } finally {
        this.record(Math.max(0, now() - started - waited.ms));
      }
      const after = result?.requeueAfter;
      return after !== undefined && after < this.delayMs ? { ...result, requeueAfter: this.delayMs } : result;
    };
  }
}
