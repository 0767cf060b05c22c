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
  const outputTopics = o.outputs.map((t) => encoder.encode(t));
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
      const index = outputOf(outputTopics, mem.read(topicPtr, topicLen));
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

/**
 * Which declared output a guest's topic bytes name: the empty topic is the first output. Compared
 * as bytes, so an emit costs no string (decoding it was a share of a small message's CPU,
 * docs/adr/0051); bytes that name no output must still be valid UTF-8 (guest-abi.md), or the call
 * traps.
 */
function outputOf(outputs: readonly Uint8Array[], topic: Uint8Array): number | undefined {
  if (topic.length === 0) return outputs.length > 0 ? 0 : undefined;
  const index = outputs.findIndex((output) => sameBytes(output, topic));
  if (index >= 0) return index;
  decodeStrict(topic, 'the output topic');
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
