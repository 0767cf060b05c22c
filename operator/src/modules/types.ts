// SPDX-License-Identifier: Apache-2.0
// The shapes module resolution speaks: what a source is and what resolving it gives (the
// resolved module and the typed failures come from @wasmfleet/oci, which every source uses).
import type { ModuleSignature } from '@wasmfleet/api';
import type { ModuleFailure, ResolvedModule } from '@wasmfleet/oci';

/** `spec.module` of a WasmFunction (kept structural so this folder does not depend on api/). */
export interface ModuleSourceSpec {
  readonly url?: string;
  readonly oci?: string;
  readonly configMap?: { readonly name: string; readonly key: string };
  /** Lowercase hex; required with url, pins oci/configMap when set. */
  readonly sha256?: string;
  /** A `kubernetes.io/dockerconfigjson` Secret in the function's namespace, for oci. */
  readonly pullSecretRef?: { readonly name: string };
  /** Detached WasmFleet signatures (`wasmfleet sign`), passed on to devices. */
  readonly signatures?: readonly { readonly keyId: string; readonly ed25519: string }[];
  readonly verify?: { readonly mode?: 'Required' | 'None'; readonly keys?: readonly string[] };
}

export type ResolveResult =
  | {
      readonly ok: true;
      readonly module: ResolvedModule;
      readonly cached: boolean;
      /** Signature material for devices: the spec's own, then any cosign signatures found. */
      readonly signatures: readonly ModuleSignature[];
    }
  | { readonly ok: false; readonly failure: ModuleFailure };

export const DEFAULT_MAX_MODULE_BYTES = 50 * 1024 * 1024;
