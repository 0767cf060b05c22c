// SPDX-License-Identifier: Apache-2.0
// Time as a dependency. Everything in the plumbing that waits or measures goes through a Clock so
// the pure parts (queue, rate limiters, event aggregation, leader timing) are tested with
// node:test `mock.timers` or a hand-made clock instead of real sleeps.

/** An opaque timer handle, whatever the clock's setTimeout returns. */
export type TimerHandle = object | number;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. It looks the globals up on every call (not once at import) so that
 * `mock.timers.enable()` in a test also governs code built with the default clock.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  // Timers stay ref'd on purpose: a retry or renew timer may be the only thing keeping an
  // operator alive while the API server is unreachable. Owners clear them in stop().
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(abortReason(signal));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted', { cause: reason });
}

/** `ms` scaled by a random factor in [1, 1 + jitter), like apimachinery's wait.Jitter. */
export function jittered(ms: number, jitter: number, random: () => number = Math.random): number {
  return jitter > 0 ? ms * (1 + jitter * random()) : ms;
}
