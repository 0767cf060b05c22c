// SPDX-License-Identifier: Apache-2.0
// Resource schemas (TypeBox: one definition gives the TypeScript types and the JSON Schema), the
// CRDs generated from them, and client-side validation that mirrors the CRDs' CEL rules.
export * from './constants.ts';
export * from './common.ts';
export { parseDuration, parseQuantity, type CelRule } from './cel.ts';
export * from './wasmfunction.ts';
export { functionCondition } from './function-condition.ts';
export * from './edgenode.ts';
export * from './agentrollout.ts';
export * from './event-reasons.ts';
export {
  crdFiles,
  edgeNodeCrd,
  agentRolloutCrd,
  AGENT_ROLLOUT_COLUMNS,
  wasmFunctionCrd,
  structuralSchema,
  WASM_FUNCTION_COLUMNS,
  EDGE_NODE_COLUMNS,
  type CustomResourceDefinition,
  type PrinterColumn,
  type StructuralSchema,
} from './crd.ts';
export { validateEdgeNode, validateWasmFunction } from './validate.ts';
