// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/workloads — example functions, guest SDKs and the tools around them.
export {
  EXAMPLES,
  EXAMPLES_DIR,
  artifactOf,
  buildExample,
  ensureBuilt,
  example,
  type Example,
  type Lang,
} from './examples.ts';
export * from './kernels.ts';
export { scaffold, LANGS, type ScaffoldResult } from './scaffold.ts';
export { buildAssemblyScript, buildC, buildGo, buildJsComponent, ToolchainMissing } from './toolchain.ts';
