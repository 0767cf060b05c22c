// SPDX-License-Identifier: Apache-2.0
// Measurements of a WasmFleet process that the operator and the agent report the same way.
export { liveHeapBytes } from './live-heap.ts';
