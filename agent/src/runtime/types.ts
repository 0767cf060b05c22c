// SPDX-License-Identifier: Apache-2.0
// The runtime interface between the node agent and a wasm engine (Krustlet's split): the agent
// decides what runs; a runtime only loads one module and invokes it. Core modules and
// components implement the same interface. Contract: docs/guest-abi.md.

/** One MQTT message as a function sees it. */
export interface FunctionMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** Milliseconds since the Unix epoch when the agent received the input. */
  readonly timestampMs: number;
}

export interface FunctionOutput {
  /** Concrete output topic (already resolved from '' to the first declared output). */
  readonly topic: string;
  /**
   * The output's own copy, which may share its ArrayBuffer with others (core modules answer with
   * Buffers from Node's pool): read it through byteOffset, never from `payload.buffer`'s start.
   */
  readonly payload: Uint8Array;
}

/** Why an invocation or a start failed; shown in device status and `wasmfleet describe`. */
export const FAILURE_REASONS = [
  'Trap',
  'Timeout',
  'OutOfMemory',
  'GuestError',
  'InvalidModule',
  'MissingImport',
  'MissingExport',
  'ModuleTooLarge',
  'CompileTimeout',
  'InitFailed',
  'OutputRejected',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type InvokeResult =
  | { readonly ok: true; readonly outputs: readonly FunctionOutput[] }
  | { readonly ok: false; readonly reason: FailureReason; readonly message: string };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Per-device, per-function key-value state (persisted by the agent). */
export interface FunctionState {
  get(key: string): Uint8Array | undefined;
  /** Returns false when the quota would be exceeded. */
  set(key: string, value: Uint8Array): boolean;
}

export interface FunctionLimits {
  /** Linear-memory cap in bytes (the module's memory maximum is rewritten to this). */
  readonly memoryBytes: number;
  /** Deadline for one invocation. */
  readonly timeoutMs: number;
  /** Largest accepted module, in bytes. */
  readonly maxModuleBytes?: number;
}

export interface LoadOptions {
  /** Declared output topics with `{node}` expanded; '' in a guest emit means outputs[0]. */
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly limits: FunctionLimits;
  readonly log?: (level: LogLevel, text: string) => void;
  readonly state?: FunctionState;
  /**
   * Where a core module runs: 'auto' (default) runs it on the agent's thread when it can be made
   * interruptible and its deadline is short, else in its own worker; 'worker' always uses a
   * worker (ADR 0018).
   */
  readonly isolation?: Isolation;
}

export type Isolation = 'auto' | 'worker';
export type FunctionThread = 'agent' | 'worker';

export interface LoadedFunction {
  readonly kind: 'core' | 'component';
  /** Where its calls run now: the agent's own thread or a worker of its own (ADR 0018). */
  readonly thread: FunctionThread;
  invoke(input: FunctionMessage): Promise<InvokeResult>;
  close(): Promise<void>;
}

/** Loads a module (core or component, told apart by its header). Rejects with a LoadError. */
export type LoadFunction = (bytes: Uint8Array, options: LoadOptions) => Promise<LoadedFunction>;
