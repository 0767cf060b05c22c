// SPDX-License-Identifier: Apache-2.0
// What a function's worker slot (core: core/worker-slot.ts, component: component/component-slot.ts)
// takes from the function's load options: the same for both.
import type { FunctionState, LoadOptions, LogLevel } from './types.ts';

export interface SlotOptions {
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
  readonly state?: FunctionState;
  readonly log?: (level: LogLevel, text: string) => void;
}

export function slotOptions(options: LoadOptions): SlotOptions {
  return {
    outputs: options.outputs,
    config: options.config,
    memoryBytes: options.limits.memoryBytes,
    ...(options.state ? { state: options.state } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
}
