// SPDX-License-Identifier: Apache-2.0
// The `wasmfleet_v1` host imports of guest-abi.md, as seen from inside the worker.
import type { CallContext } from './call-context.ts';
import { GuestMemory, decodeStrict, decodeText } from './guest-memory.ts';

export interface HostBridge {
  /** Synchronous round trip to the main thread, which owns the function's persisted state. */
  stateGet(key: Uint8Array): Uint8Array | undefined;
  stateSet(key: Uint8Array, value: Uint8Array): boolean;
}

export interface HostImportOptions {
  readonly memory: GuestMemory;
  readonly call: CallContext;
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly bridge: HostBridge;
}

const encoder = new TextEncoder();

export function createHostImports(o: HostImportOptions): Record<string, (...args: never[]) => unknown> {
  const { memory: mem, call } = o;
  const outputIndex = new Map(o.outputs.map((t, i) => [t, i]));
  const config = new Map(Object.entries(o.config).map(([k, v]) => [k, encoder.encode(v)]));

  /** Writes `value` into buf when it fits; returns its length or -1 (guest-abi.md). */
  const answer = (value: Uint8Array | undefined, buf: number, cap: number): number => {
    if (value === undefined) return -1;
    if (value.length <= cap >>> 0) mem.write(buf, value);
    return value.length;
  };

  return {
    log: (level: number, ptr: number, len: number) => {
      call.log(Math.min(3, Math.max(0, level)), decodeText(mem.read(ptr, len)));
    },
    emit: (topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number) => {
      const topic = decodeStrict(mem.read(topicPtr, topicLen), 'the output topic');
      const index = topic === '' ? (o.outputs.length > 0 ? 0 : undefined) : outputIndex.get(topic);
      if (index === undefined) return -1;
      return call.emit(index, mem.read(payloadPtr, payloadLen));
    },
    input_topic: (buf: number, cap: number) => answer(call.topic, buf, cap),
    config_get: (keyPtr: number, keyLen: number, buf: number, cap: number) =>
      answer(config.get(decodeStrict(mem.read(keyPtr, keyLen), 'the config key')), buf, cap),
    state_get: (keyPtr: number, keyLen: number, buf: number, cap: number) =>
      answer(o.bridge.stateGet(mem.read(keyPtr, keyLen)), buf, cap),
    state_set: (keyPtr: number, keyLen: number, valPtr: number, valLen: number) =>
      o.bridge.stateSet(mem.read(keyPtr, keyLen), mem.read(valPtr, valLen)) ? 0 : -1,
    set_error: (ptr: number, len: number) => {
      call.error = decodeText(mem.read(ptr, len));
    },
    now_ms: () => Date.now(),
  };
}
