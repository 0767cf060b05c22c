// SPDX-License-Identifier: Apache-2.0
// When the agent stops reading QoS 0 inputs: while too many inputs wait for a running function,
// or too many QoS 0 outputs wait for the socket. Counts only; the agent tells it what started
// and what finished, and it holds or releases mqtt.js's handleMessage callbacks.

export const DEFAULT_MAX_IN_FLIGHT = 2048;
/**
 * QoS 0 outputs handed to mqtt.js but not yet written to the socket, beyond which the agent stops
 * reading QoS 0 inputs (and reads again below half of it). Without it a function faster than the
 * uplink filled the output buffer while connected and the agent dropped 34–46 % of its QoS 0
 * outputs (pipeline benchmark, unpaced sensor); now the broker's queue absorbs the surplus.
 */
export const UNWRITTEN_HIGH_WATER = 1024;

export class InputBackpressure {
  readonly #maxInFlight: number;
  readonly #connected: () => boolean;
  /** Inputs handed to running functions and not answered yet (bounded by maxInFlight). */
  #backlog = 0;
  /** QoS 0 outputs with mqtt.js, not yet written to the socket (see UNWRITTEN_HIGH_WATER). */
  #unwritten = 0;
  #resume: (() => void)[] = [];

  constructor(maxInFlight: number, connected: () => boolean) {
    this.#maxInFlight = maxInFlight;
    this.#connected = connected;
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

  /** A QoS 0 output handed to mqtt.js. */
  outputQueued(): void {
    this.#unwritten++;
  }

  /** A QoS 0 output written to the socket. */
  outputWritten(): void {
    this.#unwritten--;
    this.resume();
  }

  /** Reads the next QoS 0 input now, or once the bounds allow it. */
  admit(next: () => void): void {
    if (this.#mustWait(UNWRITTEN_HIGH_WATER)) this.#resume.push(next);
    else next();
  }

  /** Lets held reads go on once calls and unwritten outputs are back under their bounds. */
  resume(): void {
    if (this.#resume.length > 0 && !this.#mustWait(UNWRITTEN_HIGH_WATER / 2)) this.releaseAll();
  }

  /** Lets every held read go on (the agent is stopping). */
  releaseAll(): void {
    for (const r of this.#resume.splice(0)) r();
  }

  /** QoS 0 inputs wait while calls or unwritten outputs are over their bounds. */
  #mustWait(unwrittenBound: number): boolean {
    return this.#backlog >= this.#maxInFlight || (this.#unwritten >= unwrittenBound && this.#connected());
  }
}
