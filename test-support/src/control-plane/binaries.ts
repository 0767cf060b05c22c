// SPDX-License-Identifier: Apache-2.0
// Moved to @wasmfleet/local-stack (what `wasmfleet dev up` runs); kept so scripts that import
// this path keep working while they move.
export { ensureHelmBinary, ensureKubectlBinary, ensureApiServerBinaries } from '@wasmfleet/local-stack';
export { ensureControlPlaneBinaries } from '../binaries.ts';
export { ensureCosignBinary } from '../cosign.ts';
export { ensureNatsServerBinary } from '../nats-binary.ts';
