// SPDX-License-Identifier: Apache-2.0
// The bound on outputs waiting for the broker. mqtt.js keeps every publish it cannot finish — an
// offline queue while disconnected, an in-flight store until the broker's PUBACK — without a
// limit, so a device that keeps computing through a long partition would grow until it runs out
// of memory. The agent counts what it has handed to mqtt.js and not yet seen finished (PUBACK for
// QoS 1, written for QoS 0) and refuses the newest output when either bound is reached; every
// refusal is counted (status `outputBuffer.dropped`) and logged. See docs/adr/0013.

export interface OutputBudgetLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

export const DEFAULT_OUTPUT_BUDGET: OutputBudgetLimits = { maxMessages: 10_000, maxBytes: 16 * 1024 * 1024 };

export interface OutputBudgetReport {
  readonly messages: number;
  readonly bytes: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly dropped: number;
  readonly droppedBytes: number;
}

export class OutputBudget {
  readonly limits: OutputBudgetLimits;
  #messages = 0;
  #bytes = 0;
  #dropped = 0;
  #droppedBytes = 0;

  constructor(limits: OutputBudgetLimits = DEFAULT_OUTPUT_BUDGET) {
    this.limits = limits;
  }

  /**
   * Reserves room for one output; false (and counted as dropped) when the buffer is full —
   * unless `always`, for an output bounded elsewhere (MQTT flow control), which is counted but
   * never refused.
   */
  take(bytes: number, always = false): boolean {
    if (
      !always &&
      (this.#messages + 1 > this.limits.maxMessages || this.#bytes + bytes > this.limits.maxBytes)
    ) {
      this.#dropped++;
      this.#droppedBytes += bytes;
      return false;
    }
    this.#messages++;
    this.#bytes += bytes;
    return true;
  }

  /** The output is with the broker (or was given up by the MQTT client): its room is free again. */
  give(bytes: number): void {
    this.#messages = Math.max(0, this.#messages - 1);
    this.#bytes = Math.max(0, this.#bytes - bytes);
  }

  get dropped(): number {
    return this.#dropped;
  }

  report(): OutputBudgetReport {
    return {
      messages: this.#messages,
      bytes: this.#bytes,
      maxMessages: this.limits.maxMessages,
      maxBytes: this.limits.maxBytes,
      dropped: this.#dropped,
      droppedBytes: this.#droppedBytes,
    };
  }
}

/**
 * Says how many outputs were dropped since it last spoke: at the first drop, then at most once
 * per `everyMs`, so a long partition logs a handful of lines with running totals, not thousands.
 */
export class DropReporter {
  readonly #everyMs: number;
  #lastAt = -Infinity;
  #reported = 0;

  constructor(everyMs = 10_000) {
    this.#everyMs = everyMs;
  }

  /** A line to log now, or undefined. */
  note(budget: OutputBudgetReport, connected: boolean, now: number): string | undefined {
    if (budget.dropped === this.#reported || now - this.#lastAt < this.#everyMs) return undefined;
    const fresh = budget.dropped - this.#reported;
    this.#reported = budget.dropped;
    this.#lastAt = now;
    return (
      `output buffer full (${budget.messages}/${budget.maxMessages} messages, ${budget.bytes}/${budget.maxBytes} bytes ` +
      `waiting for the broker${connected ? '' : ', disconnected'}): dropped ${fresh} output(s), ${budget.dropped} since start; ` +
      'raise --output-buffer / --output-buffer-bytes to keep more through an outage'
    );
  }

  /** Lines still owed (drops after the last line), e.g. when the connection returns. */
  flush(budget: OutputBudgetReport, connected: boolean, now: number): string | undefined {
    this.#lastAt = -Infinity;
    return this.note(budget, connected, now);
  }
}
