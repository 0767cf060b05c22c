// SPDX-License-Identifier: Apache-2.0
// The exact bytes a WasmFleet module signature covers (ADR 0011):
//
//   "wasmfleet-module-signature/v1\n" + "sha256:" + <64 lower-case hex> + "\n"
//
// ASCII, 102 bytes. The first line separates the domain (a signature made for anything else —
// a TLS handshake, a git commit, a cosign payload — never reads as a module signature) and carries
// the version; the second names the module by the digest every device already checks. Signing
// the digest rather than the module keeps signing and verification cheap and offline.
import { createHash, createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { SHA256_PATTERN } from '../wire/topics.ts';

export const STATEMENT_DOMAIN = 'wasmfleet-module-signature/v1';
const SHA256_RE = new RegExp(SHA256_PATTERN);

/** The bytes an Ed25519 module signature covers. */
export function signingStatement(sha256: string): Uint8Array {
  if (!SHA256_RE.test(sha256))
    throw new Error(
      `cannot build a signing statement for ${JSON.stringify(sha256)}: expected 64 lower-case hex characters`,
    );
  return new TextEncoder().encode(`${STATEMENT_DOMAIN}\nsha256:${sha256}\n`);
}

/** Signs a module digest with an Ed25519 private key; returns the base64 signature. */
export function signModuleDigest(sha256: string, privateKey: KeyObject): string {
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error(
      `module signatures use Ed25519 keys, but this is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; create one with \`wasmfleet sign keygen\``,
    );
  return sign(null, signingStatement(sha256), privateKey).toString('base64');
}

/** True when `signature` (base64) is `publicKey`'s Ed25519 signature of the module digest. */
export function verifyModuleDigest(sha256: string, signature: string, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519') return false;
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== 64) return false;
  return verify(null, signingStatement(sha256), publicKey, bytes);
}

/** A private key from PEM text, with an error that says what was expected. */
export function readPrivateKey(pem: string | Buffer, from: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    throw new Error(`${from} is not a PEM private key (create one with \`wasmfleet sign keygen\`)`, {
      cause,
    });
  }
}

/** Short, stable name of a public key for messages: the first 16 hex of sha256(SPKI DER). */
export function keyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}
