// SPDX-License-Identifier: Apache-2.0
// The `wasmfleet:function/host` interface of api/wit/wasmfleet-function.wit as a component sees
// it, with the limits of docs/guest-abi.md: log lines rate-limited per call, state through the
// main thread (it owns the persisted store and its quota), config and clock local. Also the
// output rules of a call: '' is the first declared output, anything undeclared is rejected.
import type { LogEntry } from './protocol.ts';
import type { LogLevel } from '../types.ts';

/** guest-abi.md: at most 64 outputs or 1 MiB of output payload per call. */
export const MAX_OUTPUTS = 64;
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** The same per-call log budget as core modules, so a log flood cannot starve the agent. */
export const MAX_LOG_LINES = 32;
export const MAX_LOG_LINE = 1024;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** What a call accumulates besides its result. Reset before every call. */
export class CallLog {
  readonly entries: LogEntry[] = [];
  dropped = 0;

  reset(): void {
    this.entries.length = 0;
    this.dropped = 0;
  }

  add(level: LogLevel, text: string): void {
    if (this.entries.length >= MAX_LOG_LINES) {
      this.dropped++;
      return;
    }
    this.entries.push({ level, text: text.length > MAX_LOG_LINE ? `${text.slice(0, MAX_LOG_LINE)}…` : text });
  }

  /** The lines to report, with a note when some were dropped. */
  drain(): LogEntry[] {
    const out = this.entries.slice();
    if (this.dropped > 0)
      out.push({ level: 'warn', text: `${this.dropped} more log lines dropped (limit per call)` });
    this.reset();
    return out;
  }
}

export interface StateBridge {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): boolean;
}

/** A thrown value jco lowers into the `err` case of a `result` return (its `payload`). */
export class ResultError extends Error {
  readonly payload: string;
  constructor(payload: string) {
    super(payload);
    this.name = 'ResultError';
    this.payload = payload;
  }
}

/** The import object for `wasmfleet:function/host` (jco's camelCase names). */
export function createHost(o: {
  readonly config: Readonly<Record<string, string>>;
  readonly state: StateBridge;
  readonly log: CallLog;
}): Record<string, (...args: never[]) => unknown> {
  const config = new Map(Object.entries(o.config));
  return {
    // jco passes WIT enums as their lower-case names.
    log: (level: string, text: string) => {
      o.log.add(LEVELS.find((l) => l === level) ?? 'info', text);
    },
    getConfig: (key: string) => config.get(key),
    stateGet: (key: string) => o.state.get(key),
    stateSet: (key: string, value: Uint8Array) => {
      if (!o.state.set(key, value))
        throw new ResultError(`the function's state quota would be exceeded by "${key}"`);
    },
    nowMs: () => BigInt(Date.now()),
  };
}

export interface WitMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly timestampMs: bigint;
}

export type ResolvedOutputs =
  | { readonly ok: true; readonly outputs: { topic: string; payload: Uint8Array }[] }
  | { readonly ok: false; readonly message: string };

/** Maps a `handle` result's messages onto the declared outputs (guest-abi.md topic rules). */
export function resolveOutputs(messages: unknown, declared: readonly string[]): ResolvedOutputs {
  if (!Array.isArray(messages)) return { ok: false, message: 'handle did not return a list of messages' };
  if (messages.length > MAX_OUTPUTS)
    return { ok: false, message: `${messages.length} outputs in one call; the limit is ${MAX_OUTPUTS}` };
  const outputs: { topic: string; payload: Uint8Array }[] = [];
  let bytes = 0;
  for (const m of messages as WitMessage[]) {
    const topic = m.topic === '' ? declared[0] : declared.find((t) => t === m.topic);
    if (topic === undefined) {
      return {
        ok: false,
        message:
          m.topic === ''
            ? 'the function emitted to the default output, but it declares no outputs'
            : `the function emitted to "${m.topic}", which is not a declared output (declared: ${declared.join(', ') || 'none'})`,
      };
    }
    bytes += m.payload.length;
    if (bytes > MAX_OUTPUT_BYTES)
      return { ok: false, message: `the outputs exceed ${MAX_OUTPUT_BYTES} bytes in one call` };
    outputs.push({ topic, payload: m.payload });
  }
  return { ok: true, outputs };
}
