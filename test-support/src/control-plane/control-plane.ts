// SPDX-License-Identifier: Apache-2.0
// Moved to @wasmfleet/local-stack (what `wasmfleet dev up` runs); kept so tests that import
// this path keep working while they move.
export { runKubectl, startControlPlane, REPO_CRDS_DIR } from '@wasmfleet/local-stack';
