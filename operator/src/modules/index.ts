// SPDX-License-Identifier: Apache-2.0
// Module resolution: WasmFunction `spec.module` → verified wasm bytes (see resolve.ts).
export { resolveModule } from './resolve.ts';
export { type ClusterSignaturePolicy } from './signature-policy.ts';
export { ModuleCache } from './cache.ts';
export { kubeReaderFromConfig, type KubeReader } from './kube.ts';
export { type ResolveResult } from './types.ts';
