// SPDX-License-Identifier: Apache-2.0
// How soon a device report may wake a function's reconcile. A reconcile walks every device the
// function targets (placement, rollout decision, status aggregate), and during a status wave —
// a fleet reporting a new revision after `apply` or a rollout step — every report used to wake
// the function again, so reconciles ran back to back for the whole wave: O(devices) each, most of
// the operator's CPU at 10,000 devices (ADR 0045). A report now waits at least twice as long as
// the latest function reconcile took (50 ms to 1 s), so reconciles take at most about a third of
// the thread however big the fleet, and a small fleet still hears back within 50 ms. Spec changes
// (the informer) still reconcile at once.

const MIN_DELAY_MS = 50;
const MAX_DELAY_MS = 1000;

export class ReconcilePacing {
  #lastMs = 0;

  /** A function reconcile took `ms` (wall time: a loaded machine's reconciles wait longer). */
  record(ms: number): void {
    this.#lastMs = ms;
  }

  /** How long a report's wake waits now. */
  get delayMs(): number {
    return Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, 2 * this.#lastMs));
  }

  /** Wraps a reconcile so each run records how long it took. */
  timed<A, R>(reconcile: (arg: A) => Promise<R>, now: () => number = () => performance.now()) {
    return async (arg: A): Promise<R> => {
      const started = now();
      try {
        return await reconcile(arg);
      } finally {
        this.record(now() - started);
      }
    };
  }
}
