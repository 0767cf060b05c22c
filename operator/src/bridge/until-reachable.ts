// SPDX-License-Identifier: Apache-2.0
// The operator's first connection to the broker waits while the broker is not there yet. A Helm
// install starts the operator and Mosquitto together; exiting on "connection refused" made the
// container restart, which a user reads as a crash. What waiting cannot fix (a refused login, a
// certificate that does not verify) still ends the start with its own message.
import { setTimeout as sleep } from 'node:timers/promises';

/** Network errors a broker that is still starting (or a Service without endpoints) gives. */
const NOT_REACHABLE_YET =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|connack timeout|socket hang up/i;

export function brokerNotReachableYet(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as Error & { code?: unknown }).code;
    if (NOT_REACHABLE_YET.test(`${typeof code === 'string' ? code : ''} ${e.message}`)) return true;
  }
  return typeof error === 'string' && NOT_REACHABLE_YET.test(error);
}

export interface UntilReachableOptions {
  /** Told before each wait, with the error and how long until the next attempt. */
  readonly onWait?: (error: unknown, retryInMs: number) => void;
  /** Ends the waiting (the operator was stopped): the last error is thrown. */
  readonly signal?: AbortSignal;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** Runs `attempt` until it succeeds or fails with an error that waiting cannot fix. */
export async function untilReachable<T>(
  attempt: () => Promise<T>,
  options: UntilReachableOptions = {},
): Promise<T> {
  const { firstDelayMs = 500, maxDelayMs = 10_000 } = options;
  for (let delay = firstDelayMs; ; delay = Math.min(maxDelayMs, delay * 2)) {
    try {
      return await attempt();
    } catch (error) {
      if (!brokerNotReachableYet(error) || options.signal?.aborted) throw error;
      options.onWait?.(error, delay);
      try {
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        throw error;
      }
    }
  }
}
