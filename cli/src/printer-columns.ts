// SPDX-License-Identifier: Apache-2.0
// The CRDs' printer columns, which `wasmfleet get` shows as `kubectl get` does. In the CLI's
// bundle this module is replaced by their values, computed when the bundle is built
// (cli/scripts/build.ts): the api module that defines them also builds every CRD schema, which
// cost each `get` ~17 ms of CPU (docs/adr/0027).
export { EDGE_NODE_COLUMNS, WASM_FUNCTION_COLUMNS } from '@wasmfleet/api';
