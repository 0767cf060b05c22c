// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/agent — the device runtime. The runtime interface is what example workloads use.
export type * from './runtime/types.ts';
export { FAILURE_REASONS } from './runtime/types.ts';
export { loadFunction } from './runtime/load-function.ts';
export { LoadError, isLoadError } from './runtime/errors.ts';
