// Module resolution: WasmFunction `spec.module` → verified wasm bytes (see resolve.ts).
export { resolveModule, type ResolveContext } from './resolve.ts';
export { type ClusterSignaturePolicy } from './signature-policy.ts';
export { ModuleCache, DEFAULT_CACHE_BYTES } from './cache.ts';
export {
  kubeReaderFromConfig,
  KubeReadError,
  type KubeReader,
  type ConfigMapLike,
  type SecretLike,
} from './kube.ts';
export { pushModule, type PushOptions, type PushResult } from './oci/push.ts';
export { parseOciReference, formatReference, type OciReference } from './oci/reference.ts';
export type { RegistryCredentials } from './oci/auth.ts';
export { WASM_CONFIG, WASM_LAYER, WASM_LAYER_TYPES, OCI_MANIFEST } from './oci/manifest.ts';
export { describeBytes, wasmKind } from './wasm.ts';
export {
  ModuleResolutionError,
  FAILURE_REASONS,
  DEFAULT_MAX_MODULE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type FailureReason,
  type ModuleFailure,
  type ModuleSourceSpec,
  type ResolvedModule,
  type ResolveResult,
  type WasmKind,
} from './types.ts';
