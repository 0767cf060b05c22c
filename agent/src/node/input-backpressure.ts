// SPDX-License-Identifier: Apache-2.0
// When the agent stops reading QoS 0 inputs: while too many inputs wait for a running function,
// or while the socket to the broker holds more than it can take (its write buffer is over the
// high-water mark). Counts only; the agent tells it what started and what finished, and it holds
// or releases mqtt.js's handleMessage callbacks.

export const DEFAULT_MAX_IN_FLIGHT = 2048;

export class InputBackpressure {
  readonly #maxInFlight: number;
  readonly #socketFull: () => boolean;
  /** Inputs handed to running functions and not answered yet (bounded by maxInFlight). */
  #backlog = 0;
  #resume: (() => void)[] = [];

  /**
   * `socketFull`: the live connection's socket has more queued than its high-water mark (Node's
   * `writableNeedDrain`); the agent calls resume() on its 'drain'. Without this bound a function
   * faster than the uplink filled the output buffer while connected and the agent dropped 34–46 %
   * of its QoS 0 outputs (pipeline benchmark, unpaced sensor); now the broker's queue absorbs the
   * surplus. (It used to count each QoS 0 output until mqtt.js called back: one 'drain' listener
   * per output while the socket was full, each removed in a linear search — docs/adr/0047.)
   */
  constructor(maxInFlight: number, socketFull: () => boolean) {
    this.#maxInFlight = maxInFlight;
    this.#socketFull = socketFull;
  }

  /** Inputs handed to a running function. */
  started(inputs: number): void {
    this.#backlog += inputs;
  }

  /** Inputs a function answered: reading may go on. */
  answered(inputs: number): void {
    this.#backlog -= inputs;
    this.resume();
  }

  /** Reads the next QoS 0 input now, or once the bounds allow it. */
  admit(next: () => void): void {
    if (this.#mustWait()) this.#resume.push(next);
    else next();
  }

  /** Lets held reads go on once calls and the socket are back under their bounds. */
  resume(): void {
    if (this.#resume.length > 0 && !this.#mustWait()) this.releaseAll();
  }

  /** Lets every held read go on (the agent is stopping). */
  releaseAll(): void {
    for (const r of this.#resume.splice(0)) r();
  }

  /** QoS 0 inputs wait while calls or the socket are over their bounds. */
  #mustWait(): boolean {
    return this.#backlog >= this.#maxInFlight || this.#socketFull();
  }
}
