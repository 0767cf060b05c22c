// SPDX-License-Identifier: Apache-2.0
// Small helpers for runtime tests: load with sensible limits, send text, read outputs as text.
import assert from 'node:assert/strict';
import {
  loadFunction,
  type FailureReason,
  type FunctionState,
  type InvokeResult,
  type LoadOptions,
  type LoadedFunction,
} from '../../src/index.ts';

export function options(overrides: Partial<LoadOptions> = {}): LoadOptions {
  return {
    outputs: ['out/1', 'out/2'],
    config: {},
    limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 200 },
    ...overrides,
  };
}

export function load(bytes: Uint8Array, overrides: Partial<LoadOptions> = {}): Promise<LoadedFunction> {
  return loadFunction(bytes, options(overrides));
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function send(
  fn: LoadedFunction,
  payload: string | Uint8Array,
  topic = 'sensors/dev-1/temp',
): Promise<InvokeResult> {
  return fn.invoke({
    topic,
    payload: typeof payload === 'string' ? enc.encode(payload) : payload,
    timestampMs: Date.now(),
  });
}

export function texts(result: InvokeResult): string[] {
  if (!result.ok) throw new Error(`call failed: ${result.reason}: ${result.message}`);
  return result.outputs.map((o) => dec.decode(o.payload));
}

export function memoryState(quota = 64 * 1024): FunctionState & { readonly map: Map<string, Uint8Array> } {
  const map = new Map<string, Uint8Array>();
  return {
    map,
    get: (key) => map.get(key),
    set: (key, value) => {
      let used = 0;
      for (const [k, v] of map) if (k !== key) used += k.length + v.length;
      if (used + key.length + value.length > quota) return false;
      map.set(key, value.slice());
      return true;
    },
  };
}

/** Asserts that a call failed and returns why. */
export function failure(result: InvokeResult): { readonly reason: FailureReason; readonly message: string } {
  if (result.ok) assert.fail(`expected the call to fail, it produced ${result.outputs.length} outputs`);
  return result;
}
