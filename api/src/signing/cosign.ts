// SPDX-License-Identifier: Apache-2.0
// Checking a cosign signature of an OCI artifact against the module a device is about to run.
// The chain, every link checked here and nothing taken from the operator on trust:
//
//   signature  --(trusted public key)-->  simple-signing payload (JSON)
//   payload.critical.image["docker-manifest-digest"]  ==  sha256(manifest bytes)
//   manifest.layers[*].digest                         ==  sha256:<module digest>
//
// Formats: cosign's "simple signing" payload (github.com/sigstore/cosign, pkg/cosign/payload;
// containers/image docs/containers-signature.5.md) with critical.type
// "cosign container image signature"; the signature is over the payload bytes as stored in the
// signature layer: ECDSA P-256/SHA-256 (ASN.1 DER) for cosign's own keys, Ed25519 or RSA
// PKCS#1 v1.5/SHA-256 for imported ones.
import { createHash, verify, type KeyObject } from 'node:crypto';
import type { CosignSignature } from '../wire/desired.ts';

export const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';
export const COSIGN_PAYLOAD_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** True when `signature` is `publicKey`'s signature of `data` the way cosign makes it for that key type. */
export function verifyCosignBlob(data: Uint8Array, signature: Uint8Array, publicKey: KeyObject): boolean {
  try {
    switch (publicKey.asymmetricKeyType) {
      case 'ed25519':
        return verify(null, data, publicKey, signature);
      case 'ec':
      case 'rsa':
        return verify('sha256', data, publicKey, signature);
      default:
        return false;
    }
  } catch {
    return false; // malformed DER and the like: simply not a valid signature
  }
}

export type ChainResult = { readonly ok: true } | { readonly ok: false; readonly problem: string };

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Checks the payload → manifest → layer links for a module digest (the signature itself is
 * checked by the caller with each trusted key). Pure.
 */
export function checkCosignChain(material: CosignSignature['cosign'], sha256: string): ChainResult {
  const payload = record(parseJson(Buffer.from(material.payload, 'base64')));
  const critical = record(payload?.critical);
  if (!critical || critical.type !== COSIGN_PAYLOAD_TYPE)
    return {
      ok: false,
      problem: `the signed payload is not a cosign simple-signing payload ("${COSIGN_PAYLOAD_TYPE}")`,
    };
  const signedDigest = record(critical.image)?.['docker-manifest-digest'];
  if (typeof signedDigest !== 'string')
    return { ok: false, problem: 'the signed payload names no docker-manifest-digest' };
  const manifestBytes = Buffer.from(material.manifest, 'base64');
  const manifestDigest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  if (signedDigest !== manifestDigest)
    return {
      ok: false,
      problem: `the signature covers manifest ${signedDigest}, but the manifest delivered with the module is ${manifestDigest}`,
    };
  return checkManifestLayer(manifestBytes, manifestDigest, sha256);
}

/** The last link of every OCI chain: the signed manifest holds the module as a layer. */
export function checkManifestLayer(
  manifestBytes: Uint8Array,
  manifestDigest: string,
  sha256: string,
): ChainResult {
  const layers = record(parseJson(manifestBytes))?.layers;
  const want = `sha256:${sha256}`;
  if (!Array.isArray(layers) || !layers.some((l) => record(l)?.digest === want))
    return {
      ok: false,
      problem: `the signed manifest ${manifestDigest} has no layer ${want}: the signature is for another module`,
    };
  return { ok: true };
}
