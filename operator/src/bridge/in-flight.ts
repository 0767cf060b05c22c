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
