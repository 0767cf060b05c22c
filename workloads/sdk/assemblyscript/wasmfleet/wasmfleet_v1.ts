// SPDX-License-Identifier: Apache-2.0
// @ts-nocheck -- AssemblyScript, compiled by asc, not tsc.
/* eslint-disable -- AssemblyScript source; see workloads/README.md. */
// The raw `wasmfleet_v1` host imports (docs/guest-abi.md). AssemblyScript imports a declared
// function from the module named after its file, so this file's name is the ABI's module name.
export declare function log(level: i32, ptr: usize, len: i32): void;
export declare function emit(topicPtr: usize, topicLen: i32, payloadPtr: usize, payloadLen: i32): i32;
export declare function input_topic(buf: usize, cap: i32): i32;
export declare function config_get(keyPtr: usize, keyLen: i32, buf: usize, cap: i32): i32;
export declare function state_get(keyPtr: usize, keyLen: i32, buf: usize, cap: i32): i32;
export declare function state_set(keyPtr: usize, keyLen: i32, valPtr: usize, valLen: i32): i32;
export declare function set_error(ptr: usize, len: i32): void;
export declare function now_ms(): f64;
