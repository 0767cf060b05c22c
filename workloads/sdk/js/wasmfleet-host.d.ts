// SPDX-License-Identifier: Apache-2.0
// Types of the component host imports (api/wit/wasmfleet-function.wit, interface host), for
// editors and for checking JavaScript functions with TypeScript. Guests import the versioned name.
declare module 'wasmfleet:function/host@1.0.0' {
  export type Level = 'debug' | 'info' | 'warn' | 'error';
  export function log(level: Level, text: string): void;
  export function getConfig(key: string): string | undefined;
  export function stateGet(key: string): Uint8Array | undefined;
  /** Throws (WIT result err) when the state quota would be exceeded. */
  export function stateSet(key: string, value: Uint8Array): void;
  export function nowMs(): bigint;
}
