// SPDX-License-Identifier: Apache-2.0
// Runs an example inside the real agent runtime (`loadFunction` from @wasmfleet/agent), with an
// in-memory state store, captured logs and text helpers. Builds the example first when its module
// is missing or stale (examples.ts ensureBuilt).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  loadFunction,
  type FunctionOutput,
  type FunctionState,
  type InvokeResult,
  type LoadOptions,
  type LoadedFunction,
  type LogLevel,
} from '@wasmfleet/agent';
import { ensureBuilt } from '../../src/examples.ts';

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** A state store with the default 64 KiB quota (docs/guest-abi.md). */
export class MemoryState implements FunctionState {
  readonly entries = new Map<string, Uint8Array>();
  readonly quota: number;
  constructor(quota = 64 * 1024) {
    this.quota = quota;
  }
  get(key: string): Uint8Array | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: Uint8Array): boolean {
    let used = 0;
    for (const [k, v] of this.entries) if (k !== key) used += k.length + v.length;
    if (used + key.length + value.length > this.quota) return false;
    this.entries.set(key, value.slice());
    return true;
  }
}

export interface HarnessOptions {
  readonly config?: Record<string, string>;
  readonly outputs?: readonly string[];
  readonly memoryBytes?: number;
  readonly timeoutMs?: number;
  readonly state?: MemoryState;
}

export interface Harness {
  readonly fn: LoadedFunction;
  readonly state: MemoryState;
  readonly logs: { level: LogLevel; text: string }[];
  call(payload: string | Uint8Array, topic?: string): Promise<InvokeResult>;
  /** Calls and asserts success; returns the outputs. */
  ok(payload: string | Uint8Array, topic?: string): Promise<readonly FunctionOutput[]>;
  /** Calls and asserts success; returns the outputs' payloads parsed as JSON. */
  json(payload: string | Uint8Array, topic?: string): Promise<unknown[]>;
  /** Calls and asserts a GuestError; returns its message. */
  fails(payload: string | Uint8Array, topic?: string): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_INPUT_TOPIC = 'sensors/dev1/in';
export const DEFAULT_OUTPUT_TOPIC = 'results/dev1/out';

export async function loadExample(name: string, o: HarnessOptions = {}): Promise<Harness> {
  const bytes = await readFile(await ensureBuilt(name));
  return loadModule(bytes, o);
}

export async function loadModule(bytes: Uint8Array, o: HarnessOptions = {}): Promise<Harness> {
  const state = o.state ?? new MemoryState();
  const logs: { level: LogLevel; text: string }[] = [];
  const options: LoadOptions = {
    outputs: o.outputs ?? [DEFAULT_OUTPUT_TOPIC],
    config: o.config ?? {},
    limits: { memoryBytes: o.memoryBytes ?? 16 * 1024 * 1024, timeoutMs: o.timeoutMs ?? 2_000 },
    log: (level, text) => logs.push({ level, text }),
    state,
  };
  // Core modules and components alike run in the real agent runtime.
  const fn: LoadedFunction = await loadFunction(bytes, options);
  const call = (payload: string | Uint8Array, topic = DEFAULT_INPUT_TOPIC): Promise<InvokeResult> =>
    fn.invoke({
      topic,
      payload: typeof payload === 'string' ? enc.encode(payload) : payload,
      timestampMs: Date.now(),
    });
  const ok = async (payload: string | Uint8Array, topic?: string): Promise<readonly FunctionOutput[]> => {
    const result = await call(payload, topic);
    if (!result.ok) assert.fail(`expected success, got ${result.reason}: ${result.message}`);
    return result.outputs;
  };
  return {
    fn,
    state,
    logs,
    call,
    ok,
    json: async (payload, topic) =>
      (await ok(payload, topic)).map((out) => JSON.parse(dec.decode(out.payload)) as unknown),
    fails: async (payload, topic) => {
      const result = await call(payload, topic);
      if (result.ok) assert.fail(`expected a failure, got ${result.outputs.length} output(s)`);
      assert.equal(result.reason, 'GuestError', result.message);
      return result.message;
    },
    close: () => fn.close(),
  };
}
