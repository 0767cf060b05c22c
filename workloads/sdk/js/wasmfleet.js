// SPDX-License-Identifier: Apache-2.0
// WasmFleet guest SDK for JavaScript components (guest ABI v1, world
// wasmfleet:function/sensor-function in api/wit/wasmfleet-function.wit).
//
// A function is an ES module that exports `handle(message)` and is built with
// `jco componentize --wit api/wit/wasmfleet-function.wit -n sensor-function --bundle` (the
// workloads build does this; see workloads/src/toolchain.ts). This file is bundled into it.
//
//   import { handler, output, text } from '../../sdk/js/wasmfleet.js';
//   export const handle = handler((input) => [output('', `got ${text(input)}`)]);
//
// Host imports use the versioned WIT name, which is what componentize resolves.
import { getConfig, log, nowMs, stateGet, stateSet } from 'wasmfleet:function/host@1.0.0';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The payload of a message as text (UTF-8). */
export function text(message) {
  return decoder.decode(message.payload);
}

/** The payload of a message parsed as JSON (throws on malformed JSON: the call fails). */
export function json(message) {
  return JSON.parse(text(message));
}

/** An output message; `payload` may be a string, bytes, or any JSON value. Topic '' = first output. */
export function output(topic, payload) {
  const bytes =
    payload instanceof Uint8Array
      ? payload
      : encoder.encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return { topic, payload: bytes, timestampMs: 0n };
}

/** A config value, or `fallback` when unset. */
export function config(key, fallback) {
  const value = getConfig(key);
  return value === undefined ? fallback : value;
}

/** Per-device state as JSON (undefined when unset). */
export function loadState(key) {
  const bytes = stateGet(key);
  return bytes === undefined ? undefined : JSON.parse(decoder.decode(bytes));
}

/** Stores per-device state as JSON; throws when the quota would be exceeded. */
export function saveState(key, value) {
  stateSet(key, encoder.encode(JSON.stringify(value)));
}

export const logger = {
  debug: (t) => log('debug', t),
  info: (t) => log('info', t),
  warn: (t) => log('warn', t),
  error: (t) => log('error', t),
};

export { nowMs };

/**
 * Wraps a handler `(input) => outputs` into the WIT export: a thrown error becomes the call's
 * error (WIT `result` err), which the agent counts and reports; outputs may be an array or one.
 */
export function handler(fn) {
  return (input) => {
    let result;
    try {
      result = fn(input);
    } catch (error) {
      // componentize-js turns a thrown value into the WIT `err` case; it must be the string
      // itself (an Error object cannot be lowered to `string` and would trap instead).
      throw error instanceof Error ? error.message : String(error);
    }
    return result === undefined ? [] : Array.isArray(result) ? result : [result];
  };
}
