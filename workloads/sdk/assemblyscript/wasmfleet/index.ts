// SPDX-License-Identifier: Apache-2.0
// @ts-nocheck -- AssemblyScript (i32/usize types, asc builtins), compiled by asc, not tsc.
/* eslint-disable -- AssemblyScript source; see workloads/README.md. */
// WasmFleet guest SDK for AssemblyScript (guest ABI v1, docs/guest-abi.md).
//
// Your entry file re-exports the ABI plumbing and implements one handler:
//
//   import { Input, emitString, config } from "wasmfleet";
//   export { wf_alloc, wf_dealloc } from "wasmfleet";
//   export function wf_handle(ptr: usize, len: i32): i32 { return handleWith(ptr, len, onInput); }
//   function onInput(input: Input): string | null { ... return null; }   // null = success
//
// Build with `asc … --path <folder holding wasmfleet/> --use abort=~lib/wasmfleet/index/wfAbort`
// (workloads/src/toolchain.ts buildAssemblyScript does this): `--path` makes `import … from
// "wasmfleet"` resolve here, and `--use abort=` routes AssemblyScript's abort (failed assertions,
// out-of-bounds) to set_error, so the module imports nothing but `wasmfleet_v1`.

// ---- raw host imports ----
import * as host from './wasmfleet_v1';

// ---- ABI exports (re-export these from your entry file) ----

/** Input buffers are pinned ArrayBuffers, so the handler can use them without copying. */
export function wf_alloc(size: i32): usize {
  return __pin(__new(<usize>size, idof<ArrayBuffer>()));
}

export function wf_dealloc(ptr: usize, size: i32): void {
  __unpin(ptr);
}

/** Replaces AssemblyScript's `env.abort` import (see toolchain.ts): reports, then traps. */
export function wfAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text =
    (message !== null ? message : 'abort') +
    (fileName !== null ? ' at ' + fileName + ':' + line.toString() + ':' + column.toString() : '');
  setError(text);
  unreachable();
}

// ---- the input ----

/** One input message: its payload (no copy) and topic. */
export class Input {
  payload: Uint8Array;

  constructor(payload: Uint8Array) {
    this.payload = payload;
  }

  /** The concrete topic the message arrived on. */
  get topic(): string {
    return inputTopic();
  }

  /** The payload decoded as UTF-8. */
  text(): string {
    return String.UTF8.decodeUnsafe(this.payload.dataStart, this.payload.length);
  }
}

/** A handler returns null on success, or an error message (the call then fails, outputs dropped). */
export type Handler = (input: Input) => string | null;

/** Calls `handler` for the input the host placed at ptr..ptr+len (a buffer from wf_alloc). */
export function handleWith(ptr: usize, len: i32, handler: Handler): i32 {
  const buffer = changetype<ArrayBuffer>(ptr);
  const payload = Uint8Array.wrap(buffer, 0, len);
  const error = handler(new Input(payload));
  if (error === null) return 0;
  setError(error);
  return 1;
}

// ---- host calls ----

export const DEBUG: i32 = 0;
export const INFO: i32 = 1;
export const WARN: i32 = 2;
export const ERROR: i32 = 3;

export function log(level: i32, text: string): void {
  const bytes = String.UTF8.encode(text);
  host.log(level, changetype<usize>(bytes), bytes.byteLength);
}

export function setError(text: string): void {
  const bytes = String.UTF8.encode(text);
  host.set_error(changetype<usize>(bytes), bytes.byteLength);
}

/** Queues an output; topic "" is the first declared output. 0 ok, -1 undeclared topic, -2 limit. */
export function emit(topic: string, payload: Uint8Array): i32 {
  const t = String.UTF8.encode(topic);
  return host.emit(changetype<usize>(t), t.byteLength, payload.dataStart, payload.length);
}

export function emitString(topic: string, text: string): i32 {
  const t = String.UTF8.encode(topic);
  const p = String.UTF8.encode(text);
  return host.emit(changetype<usize>(t), t.byteLength, changetype<usize>(p), p.byteLength);
}

export function inputTopic(): string {
  let buf = new ArrayBuffer(128);
  let n = host.input_topic(changetype<usize>(buf), buf.byteLength);
  if (n > buf.byteLength) {
    buf = new ArrayBuffer(n);
    n = host.input_topic(changetype<usize>(buf), n);
  }
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), n);
}

type Getter = (keyPtr: usize, keyLen: i32, buf: usize, cap: i32) => i32;

function getBytes(get: Getter, key: string): ArrayBuffer | null {
  const k = String.UTF8.encode(key);
  let buf = new ArrayBuffer(64);
  let n = get(changetype<usize>(k), k.byteLength, changetype<usize>(buf), buf.byteLength);
  if (n < 0) return null;
  if (n > buf.byteLength) {
    buf = new ArrayBuffer(n);
    n = get(changetype<usize>(k), k.byteLength, changetype<usize>(buf), n);
  }
  return buf.slice(0, n);
}

/** A config value (spec.config, configMapRef, secretRef), or null when unset. */
export function config(key: string): string | null {
  const bytes = getBytes(host.config_get, key);
  return bytes === null ? null : String.UTF8.decode(bytes);
}

/** A numeric config value, or `fallback` when it is unset or not a number. */
export function configF64(key: string, fallback: f64): f64 {
  const text = config(key);
  if (text === null) return fallback;
  const v = parseFloat(text);
  return isNaN(v) ? fallback : v;
}

/** Per-device state for this function, or null when unset. */
export function stateGet(key: string): ArrayBuffer | null {
  return getBytes(host.state_get, key);
}

/** Stores per-device state. false when the quota would be exceeded. */
export function stateSet(key: string, value: ArrayBuffer): bool {
  const k = String.UTF8.encode(key);
  return host.state_set(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength) == 0;
}

export function nowMs(): f64 {
  return host.now_ms();
}
