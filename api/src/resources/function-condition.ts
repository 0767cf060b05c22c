// SPDX-License-Identifier: Apache-2.0
// Reading one condition of a WasmFunction's status, apart from the schemas in wasmfunction.ts: a
// module that builds no TypeBox schema when it loads, so the CLI's reading commands (rollout
// status) keep TypeBox out of their startup snapshot (docs/adr/0053).
import type { WasmFunctionConditionType, WasmFunctionStatus } from './wasmfunction.ts';

/** One condition of a WasmFunction's status, by a type the operator sets (typed: no misspelling). */
export function functionCondition(
  status: WasmFunctionStatus | undefined,
  type: WasmFunctionConditionType,
): NonNullable<WasmFunctionStatus['conditions']>[number] | undefined {
  return status?.conditions?.find((c) => c.type === type);
}
