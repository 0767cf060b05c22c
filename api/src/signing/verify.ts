// SPDX-License-Identifier: Apache-2.0
// The device's decision about a module's signatures: which trusted key vouches for the digest,
// or why none does. Pure (node:crypto only): the agent calls it between verifying the digest and
// compiling, with the keys from its own configuration — never with anything the operator chose.
import type { KeyObject } from 'node:crypto';
import type { ModuleSignature } from '../wire/desired.ts';
import { checkCosignChain, verifyCosignBlob } from './cosign.ts';
import { bundleSigner, checkBundleChain } from './sigstore-bundle.ts';
import { verifyModuleDigest } from './statement.ts';

export interface TrustedKey {
  /** The key's name: its file name without `.pub`, and the keyId WasmFleet signatures carry. */
  readonly id: string;
  readonly key: KeyObject;
  /** keyFingerprint(key), for messages. */
  readonly fingerprint: string;
}

export interface SignaturePolicy {
  readonly trusted: readonly TrustedKey[];
  /** Run modules that no trusted key vouches for (but never one whose signature fails). */
  readonly allowUnsigned: boolean;
}

export const SIGNATURE_REASONS = ['Unsigned', 'UntrustedKey', 'SignatureInvalid'] as const;
export type SignatureReason = (typeof SIGNATURE_REASONS)[number];

export type SignatureVerdict =
  | {
      readonly ok: true;
      /** The trusted key that verified it; undefined when it runs unsigned (allowed by policy). */
      readonly keyId: string | undefined;
      readonly kind: 'wasmfleet' | 'cosign' | 'unsigned';
    }
  | { readonly ok: false; readonly reason: SignatureReason; readonly message: string };

const HOW_TO_SIGN =
  'sign it with `wasmfleet sign <module.wasm> --key <private.pem>` (spec.module.signatures) or `cosign sign --key` (module.oci)';

function keyList(policy: SignaturePolicy): string {
  return policy.trusted.map((k) => k.id).join(', ') || '(none)';
}

export function verifyModuleSignatures(
  sha256: string,
  signatures: readonly ModuleSignature[] | undefined,
  policy: SignaturePolicy,
): SignatureVerdict {
  const module = `module sha256:${sha256}`;
  const sigs = policy.trusted.length === 0 ? [] : (signatures ?? []);
  if (sigs.length === 0) {
    if (policy.allowUnsigned) return { ok: true, keyId: undefined, kind: 'unsigned' };
    return {
      ok: false,
      reason: 'Unsigned',
      message: `${module} carries no signature and this device runs only modules signed by one of its trusted keys (${keyList(policy)}); ${HOW_TO_SIGN}`,
    };
  }
  const invalid: string[] = [];
  const untrusted: string[] = [];
  for (const sig of sigs) {
    if ('keyId' in sig) {
      const trusted = policy.trusted.find((k) => k.id === sig.keyId);
      if (!trusted) {
        untrusted.push(`key ${sig.keyId}`);
        continue;
      }
      if (verifyModuleDigest(sha256, sig.ed25519, trusted.key))
        return { ok: true, keyId: trusted.id, kind: 'wasmfleet' };
      invalid.push(
        trusted.key.asymmetricKeyType === 'ed25519'
          ? `signature by key ${trusted.id} (${trusted.fingerprint}) does not verify for sha256:${sha256}`
          : `trusted key ${trusted.id} is a ${trusted.key.asymmetricKeyType ?? 'unknown'} key; WasmFleet signatures need an Ed25519 key`,
      );
      continue;
    }
    if ('sigstoreBundle' in sig) {
      const signer = bundleSigner(sig.sigstoreBundle, policy.trusted);
      if (!signer) {
        untrusted.push('a cosign (Sigstore bundle) signature no trusted key verifies');
        continue;
      }
      const chain = checkBundleChain(sig.sigstoreBundle, sha256);
      if (chain.ok) return { ok: true, keyId: signer.id, kind: 'cosign' };
      invalid.push(`cosign signature by key ${signer.id} (${signer.fingerprint}): ${chain.problem}`);
      continue;
    }
    const payload = Buffer.from(sig.cosign.payload, 'base64');
    const signature = Buffer.from(sig.cosign.signature, 'base64');
    const signer = policy.trusted.find((k) => verifyCosignBlob(payload, signature, k.key));
    if (!signer) {
      untrusted.push('a cosign signature no trusted key verifies');
      continue;
    }
    const chain = checkCosignChain(sig.cosign, sha256);
    if (chain.ok) return { ok: true, keyId: signer.id, kind: 'cosign' };
    invalid.push(`cosign signature by key ${signer.id} (${signer.fingerprint}): ${chain.problem}`);
  }
  if (invalid.length > 0)
    return {
      ok: false,
      reason: 'SignatureInvalid',
      message: `${invalid.join('; ')}: the module or its signature was altered or belongs to other bytes; refusing to run ${module}. Re-sign the module you deploy: ${HOW_TO_SIGN}`,
    };
  if (policy.allowUnsigned) return { ok: true, keyId: undefined, kind: 'unsigned' };
  return {
    ok: false,
    reason: 'UntrustedKey',
    message: `${module} is signed only by keys this device does not trust (${untrusted.join('; ')}); trusted: ${keyList(policy)}. Add the signer's public key to the device's --trusted-keys, or sign with a trusted key`,
  };
}
