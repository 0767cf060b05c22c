// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/oci — WebAssembly modules as OCI artifacts: references, registry auth, push and pull
// with every digest checked, cosign/Sigstore signature lookup, and the checks on module bytes
// every module source shares (wasm preamble, digests, capped reads, typed failures).
export { parseOciReference, formatReference, type OciReference } from './oci-reference.ts';
export {
  credentialsFromDockerConfig,
  normalizeRegistryKey,
  type RegistryCredentials,
} from './registry-auth.ts';
export { RegistryClient, usesPlainHttp } from './registry-client.ts';
export { pushModule, type PushOptions, type PushResult } from './push-module.ts';
export { ociSourceKey, pullOciModule, type PulledModuleCache } from './pull-module.ts';
export { fetchCosignSignatures, fetchSigstoreBundles } from './signature-lookup.ts';
export {
  FAILURE_REASONS,
  ModuleResolutionError,
  type FailureReason,
  type ModuleFailure,
} from './resolution-error.ts';
export type { ResolvedModule, WasmKind } from './resolved-module.ts';
export { assertWasm, describeBytes, wasmKind } from './wasm-preamble.ts';
export { assertDigest, readCapped, sha256Hex, tooLarge } from './digest.ts';
export { DEFAULT_TIMEOUT_MS, deadline, discard, fetchOrFail, networkFailure } from './http-fetch.ts';
