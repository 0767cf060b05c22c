// SPDX-License-Identifier: Apache-2.0
// What every module source produces: verified wasm bytes, their digest and kind, and for OCI
// artifacts the manifest that held them.
export interface ResolvedModule {
  /** Lowercase hex SHA-256 of `bytes`. */
  readonly sha256: string;
  readonly size: number;
  readonly bytes: Uint8Array;
  /** `application/wasm`, or the OCI layer media type the module came in. */
  readonly mediaType: string;
  /** Core module (version 1) or component (layer 1); agents run them through different paths. */
  readonly kind: WasmKind;
  /** OCI sources: the manifest holding the module as its layer, as the registry served it. */
  readonly ociManifest?: { readonly digest: string; readonly bytes: Uint8Array };
}

export type WasmKind = 'module' | 'component';
