// SPDX-License-Identifier: Apache-2.0
// A bound on QoS 1 publishes awaiting their PUBACK. A fleet-wide change publishes one document per
// device: 100,000 at once would exhaust MQTT's 65,535 packet identifiers (mqtt.js reuses one still
// in flight, and that publish never completes).
export class InFlight {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    // A waiter is handed its slot by the publish that finishes (active stays counted).
    if (this.#active < this.#limit) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

/**
 * Runs `work` over `items` with at most `limit` running at once, each started only when a slot is
 * free; rejects with the first failure once the running ones have settled (no new item starts
 * after it). A fleet-wide change publishes through this with the bridge's bound, so a document is
 * built, serialised and put on its clock only when it can be sent: 30,000 documents handed to the
 * bridge at once each waited for a slot with its 5-second publish timeout already running, and the
 * reconcile failed with "is the MQTT broker reachable?" while the broker was (issue 18).
 */
export async function eachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { readonly error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
  if (failure !== undefined) throw failure.error;
}
