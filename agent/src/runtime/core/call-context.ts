// SPDX-License-Identifier: Apache-2.0
// What one invocation accumulates inside the worker: the input topic, its outputs, the error
// text a guest set, and its log lines. Outputs go straight into the response buffer (no copy
// per emit); a failed call rewinds them, so it is all or nothing.
import type { Writer } from './channel.ts';

export const MAX_OUTPUTS = 64;
export const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_LOG_LINES = 32;
const MAX_LOG_LINE = 1024;

export interface LogLine {
  readonly level: number;
  readonly text: string;
}

export class CallContext {
  topic: Uint8Array = new Uint8Array(0);
  outputCount = 0;
  outputBytes = 0;
  error: string | undefined;
  readonly logs: LogLine[] = [];
  droppedLogs = 0;
  #out: Writer | undefined;
  /** Where this call's answer starts in the response, and where its output count goes. */
  recordStart = 0;
  #countAt = 0;

  /** Starts the answer of one input: [ok=1][output count, patched at the end]. */
  begin(topic: Uint8Array, out: Writer): void {
    this.topic = topic;
    this.outputCount = 0;
    this.outputBytes = 0;
    this.error = undefined;
    this.logs.length = 0;
    this.droppedLogs = 0;
    this.#out = out;
    this.recordStart = out.pos;
    // RECORD_RESERVE was checked before the call began, so these 8 bytes always fit.
    out.reserve(8);
    out.u32(1);
    this.#countAt = out.pos;
    out.u32(0);
  }

  /** The guest returned normally: the outputs stand. */
  commit(): void {
    this.#out?.patch(this.#countAt, this.outputCount);
  }

  /** The call failed: drop its outputs (the caller writes the failure record). */
  rewind(): void {
    if (this.#out) this.#out.pos = this.recordStart;
    this.outputCount = 0;
  }

  /** Guests are rate-limited per call so a log flood cannot starve the agent. */
  log(level: number, text: string): void {
    if (this.logs.length >= MAX_LOG_LINES) {
      this.droppedLogs++;
      return;
    }
    this.logs.push({ level, text: text.length > MAX_LOG_LINE ? `${text.slice(0, MAX_LOG_LINE)}…` : text });
  }

  /** 0 queued, -2 limit reached (guest-abi.md). */
  emit(index: number, payload: Uint8Array): number {
    const out = this.#out;
    if (
      !out ||
      this.outputCount >= MAX_OUTPUTS ||
      this.outputBytes + payload.length > MAX_OUTPUT_BYTES ||
      !out.reserve(payload.length + 8)
    )
      return -2;
    out.u32(index);
    out.bytes(payload);
    this.outputCount++;
    this.outputBytes += payload.length;
    return 0;
  }
}
