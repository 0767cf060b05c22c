// SPDX-License-Identifier: Apache-2.0
// Checking the Sigstore bundle cosign 3 attaches to an OCI artifact by default (`cosign sign
// --key`, tlog upload off): a bundle v0.3 (sigstore protobuf-specs, Bundle) whose content is a
// DSSE envelope (github.com/secure-systems-lab/dsse, envelope.md) carrying an in-toto Statement v1
// (in-toto attestation spec, statement.md) with predicateType https://sigstore.dev/cosign/sign/v1
// and the artifact's MANIFEST digest as subject. The chain:
//
//   DSSE signature over PAE(payloadType, payload)  --(trusted public key)
//   statement.subject[*].digest.sha256  ==  sha256(manifest bytes)
//   manifest.layers[*].digest           ==  sha256:<module digest>
//
// Only key-based bundles: a certificate (keyless) or a transparency-log entry is not checked, and
// the verificationMaterial's key hint is not trusted for anything.
import { createHash, type KeyObject } from 'node:crypto';
import type { SigstoreBundleSignature } from '../wire/desired.ts';
import { checkManifestLayer, verifyCosignBlob, type ChainResult } from './cosign.ts';

export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** DSSE's pre-authentication encoding: what a DSSE signature actually covers. */
export function dssePae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

interface Envelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly Uint8Array[];
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function parseEnvelope(bundleBase64: string): Envelope | undefined {
  let bundle: Record<string, unknown> | undefined;
  try {
    bundle = record(JSON.parse(Buffer.from(bundleBase64, 'base64').toString('utf8')));
  } catch {
    return undefined;
  }
  const mediaType = bundle?.mediaType;
  const envelope = record(bundle?.dsseEnvelope);
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.bundle'))
    return undefined;
  if (!envelope || typeof envelope.payloadType !== 'string' || typeof envelope.payload !== 'string')
    return undefined;
  const sigs = Array.isArray(envelope.signatures) ? (envelope.signatures as unknown[]) : [];
  return {
    payloadType: envelope.payloadType,
    payload: Buffer.from(envelope.payload, 'base64'),
    signatures: sigs
      .map((s) => record(s)?.sig)
      .filter((s): s is string => typeof s === 'string')
      .map((s) => Buffer.from(s, 'base64')),
  };
}

/** The trusted key whose DSSE signature is on the bundle, if any. */
export function bundleSigner<K extends { readonly key: KeyObject }>(
  material: SigstoreBundleSignature['sigstoreBundle'],
  keys: readonly K[],
): K | undefined {
  const envelope = parseEnvelope(material.bundle);
  if (!envelope) return undefined;
  const pae = dssePae(envelope.payloadType, envelope.payload);
  return keys.find((k) => envelope.signatures.some((sig) => verifyCosignBlob(pae, sig, k.key)));
}

/** Statement → manifest → layer, once the signature has been verified. Pure. */
export function checkBundleChain(
  material: SigstoreBundleSignature['sigstoreBundle'],
  sha256: string,
): ChainResult {
  const envelope = parseEnvelope(material.bundle);
  if (!envelope) return { ok: false, problem: 'the Sigstore bundle has no DSSE envelope' };
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return {
      ok: false,
      problem: `the bundle signs a ${envelope.payloadType} payload, not an in-toto statement`,
    };
  let statement: Record<string, unknown> | undefined;
  try {
    statement = record(JSON.parse(Buffer.from(envelope.payload).toString('utf8')));
  } catch {
    statement = undefined;
  }
  if (statement?._type !== IN_TOTO_STATEMENT_V1 || statement.predicateType !== COSIGN_SIGN_PREDICATE)
    return {
      ok: false,
      problem: `the bundle's statement is not a cosign signature (${COSIGN_SIGN_PREDICATE})`,
    };
  const manifestBytes = Buffer.from(material.manifest, 'base64');
  const manifestHex = createHash('sha256').update(manifestBytes).digest('hex');
  const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
  const named = subjects.map((s) => record(record(s)?.digest)?.sha256).filter((d) => typeof d === 'string');
  if (!named.includes(manifestHex))
    return {
      ok: false,
      problem: `the signature covers manifest ${named.map((d) => `sha256:${d}`).join(', ') || '(none)'}, but the manifest delivered with the module is sha256:${manifestHex}`,
    };
  return checkManifestLayer(manifestBytes, `sha256:${manifestHex}`, sha256);
}
