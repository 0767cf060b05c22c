// SPDX-License-Identifier: Apache-2.0
// Names that identify WasmFleet's custom resources on the API server.

export const GROUP = 'wasmfleet.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const WASM_FUNCTION_KIND = 'WasmFunction';
export const WASM_FUNCTION_LIST_KIND = 'WasmFunctionList';
export const WASM_FUNCTION_PLURAL = 'wasmfunctions';
export const WASM_FUNCTION_SINGULAR = 'wasmfunction';
export const WASM_FUNCTION_SHORT_NAMES = ['wfn', 'wasmfn'] as const;

export const EDGE_NODE_KIND = 'EdgeNode';
export const EDGE_NODE_LIST_KIND = 'EdgeNodeList';
export const EDGE_NODE_PLURAL = 'edgenodes';
export const EDGE_NODE_SINGULAR = 'edgenode';
export const EDGE_NODE_SHORT_NAMES = ['en', 'enode'] as const;

/** `kubectl get wasmfleet` lists every WasmFleet resource. */
export const CATEGORY = 'wasmfleet';

export const WASM_FUNCTION_CRD_NAME = `${WASM_FUNCTION_PLURAL}.${GROUP}`;
export const EDGE_NODE_CRD_NAME = `${EDGE_NODE_PLURAL}.${GROUP}`;

/**
 * What a WasmFunction gets when `spec.limits` leaves a field out: the CRD's defaults, the
 * operator's desired documents and the agent's advertised capacity all read these.
 */
export const FUNCTION_DEFAULTS = {
  memory: '16Mi',
  memoryBytes: 16 * 1024 * 1024,
  timeout: '100ms',
} as const;

/** Upper bounds enforced by the CRD and by validateWasmFunction. */
export const LIMITS = {
  maxMemoryBytes: 4 * 1024 ** 3,
  maxMemory: '4Gi',
  maxTimeoutMs: 60_000,
  maxTimeout: '60s',
  maxInputs: 16,
  maxOutputs: 16,
  maxTopicLength: 256,
  maxCanarySteps: 10,
  maxSensors: 32,
  maxConfigEntries: 64,
  maxNodeStatuses: 100,
} as const;
