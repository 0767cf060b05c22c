// SPDX-License-Identifier: Apache-2.0
// The shapes module resolution speaks: what a source is, what a resolved module is, and the
// typed failures a reconciler turns into `ModuleResolved=False` with a reason a user can act on.
import type { ModuleSignature } from '@wasmfleet/api';

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

export const FAILURE_REASONS = [
  'Unreachable',
  'NotFound',
  'DigestMismatch',
  'NotWasm',
  'TooLarge',
  'Unauthorized',
  'MissingReference',
  'InvalidSource',
  'Unsigned',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface ModuleFailure {
  /** CamelCase, fit for a Condition's `reason`. */
  readonly reason: FailureReason;
  /** One or two sentences for the Condition's `message`: what is wrong and what to do. */
  readonly message: string;
  /**
   * True when trying again later may succeed without the user changing anything (network,
   * server errors, timeouts), so the work queue should requeue with backoff; false when only an
   * edit of the spec or of the referenced object will help (watches bring that edit in).
   */
  readonly retryable: boolean;
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

/**
 * Thrown inside the resolver's sources and caught once at the top, so each source can stop at
 * the first problem with a precise reason instead of threading results through every helper.
 */
export class ModuleResolutionError extends Error {
  readonly reason: FailureReason;
  readonly retryable: boolean;

  constructor(
    reason: FailureReason,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModuleResolutionError';
    this.reason = reason;
    this.retryable = options.retryable ?? reason === 'Unreachable';
  }

  toFailure(): ModuleFailure {
    return { reason: this.reason, message: this.message, retryable: this.retryable };
  }
}

export const DEFAULT_MAX_MODULE_BYTES = 50 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 60_000;
