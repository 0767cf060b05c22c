// SPDX-License-Identifier: Apache-2.0
// Messages between the agent's main thread and one component worker (component-worker.ts).
// Calls travel by postMessage: a JS component call costs ~100 µs inside the guest, so the
// structured clone is noise next to it. Host imports that need the main thread (state-get,
// state-set) are synchronous for the guest, so the worker blocks on a shared word and takes the
// reply with receiveMessageOnPort (see component-worker.ts).
import type { MessagePort } from 'node:worker_threads';
import type { FailureReason, LogLevel } from '../types.ts';

export interface ComponentWorkerInit {
  /** The jco `instantiate()` glue, as ES module source. */
  readonly js: string;
  /** Core modules by the file name the glue asks for: bytes on a first start, compiled after. */
  readonly coreModules: Readonly<Record<string, Uint8Array | WebAssembly.Module>>;
  /** Interfaces the component imports (jco's list, unversioned). */
  readonly imports: readonly string[];
  /** File URL of @bytecodealliance/preview2-shim's instantiation helper; only used for wasi:*. */
  readonly wasiShimUrl: string;
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
  /** Int32[1]: 0 while a host call waits, 1 once the main thread posted the reply. */
  readonly hostSignal: SharedArrayBuffer;
  readonly hostPort: MessagePort;
}

export type WorkerReady =
  | {
      readonly type: 'ready';
      /** Compiled core modules, when this worker compiled them (reused by replacements). */
      readonly compiled?: Readonly<Record<string, WebAssembly.Module>>;
      readonly compileMs: number;
      readonly instantiateMs: number;
    }
  | { readonly type: 'failed'; readonly reason: FailureReason; readonly message: string };

export interface CallRequest {
  readonly type: 'call';
  readonly id: number;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly timestampMs: number;
}

export interface LogEntry {
  readonly level: LogLevel;
  readonly text: string;
}

export type CallReply =
  | {
      readonly type: 'result';
      readonly id: number;
      readonly ok: true;
      readonly outputs: readonly { readonly topic: string; readonly payload: Uint8Array }[];
      readonly logs: readonly LogEntry[];
    }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly ok: false;
      readonly reason: FailureReason;
      readonly message: string;
      readonly logs: readonly LogEntry[];
      /** The instance must not be entered again (a trap leaves a component poisoned). */
      readonly poisoned: boolean;
    };

export type HostRequest =
  | { readonly op: 'state-get'; readonly key: string }
  | { readonly op: 'state-set'; readonly key: string; readonly value: Uint8Array };

export type HostReply =
  | { readonly op: 'state-get'; readonly value: Uint8Array | undefined }
  | { readonly op: 'state-set'; readonly ok: boolean };
