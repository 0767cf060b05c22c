// SPDX-License-Identifier: Apache-2.0
// The operator's side of signature policy: an early, explainable refusal when a function that
// must be signed has no signature at all (or none by a key it requires). Pure. It verifies no
// cryptography: the devices do, with keys the operator never holds, so a compromised operator
// cannot talk a device into running anything (ADR 0011).
import type { ModuleSignature } from '@wasmfleet/api';
import { ModuleResolutionError } from '@wasmfleet/oci';
import type { ModuleSourceSpec } from './types.ts';

/** Cluster-wide default (`--module-signatures`), overridden per function by `module.verify.mode`. */
export type ClusterSignaturePolicy = 'Required' | 'Optional';

export function signaturesRequired(source: ModuleSourceSpec, cluster: ClusterSignaturePolicy): boolean {
  const mode = source.verify?.mode;
  if (mode !== undefined) return mode === 'Required';
  return cluster === 'Required' || source.verify?.keys !== undefined;
}

/** Throws `Unsigned` when policy requires a signature that `signatures` does not provide. */
export function assertSignaturePolicy(
  source: ModuleSourceSpec,
  signatures: readonly ModuleSignature[],
  cluster: ClusterSignaturePolicy,
): void {
  if (!signaturesRequired(source, cluster)) return;
  const keys = source.verify?.keys;
  // A cosign signature names no key; which key made it is for the device to find out.
  const acceptable = signatures.filter(
    (s) => !('keyId' in s) || keys === undefined || keys.includes(s.keyId),
  );
  if (acceptable.length > 0) return;
  const why =
    source.verify?.mode === 'Required' || keys !== undefined
      ? 'module.verify requires a signature'
      : 'the operator runs with --module-signatures Required';
  const wanted = keys === undefined ? '' : ` by one of the keys ${keys.join(', ')}`;
  const have =
    signatures.length === 0
      ? 'it has none'
      : `it only has signatures by ${signatures.map((s) => ('keyId' in s ? s.keyId : 'cosign')).join(', ')}`;
  throw new ModuleResolutionError(
    'Unsigned',
    `${why}${wanted}, but ${have}: sign the module with \`wasmfleet sign <module.wasm> --key <private.pem>\` and add the result to spec.module.signatures` +
      (source.oci !== undefined ? ', or sign the artifact with `cosign sign --key`' : ''),
    // A cosign signature can appear in the registry without any edit of the function.
    { retryable: source.oci !== undefined },
  );
}
