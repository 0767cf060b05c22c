// SPDX-License-Identifier: Apache-2.0
// What a WasmFleet release signature covers (docs/adr/0031): the release file's checksum line,
// exactly as `sha256sum` prints it and `sha256sum -c` reads it,
//
//   "<64 lower-case hex>  <file name>\n"
//
// so a user verifies a download with two standard commands (docs/devices.md):
//   sha256sum -c F.sha256 && openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in F.sha256 -sigfile F.sha256.sig
// and a device checks an upgrade against the digest it already verified. The file name carries
// the version and architecture, so a signed 0.3.0 tarball cannot be passed off as 0.3.1 or as
// another architecture's. Ed25519, as module signatures (ADR 0011); the line never starts with
// their domain string, so neither kind of signature reads as the other.
import { sign, verify, type KeyObject } from 'node:crypto';
import { SHA256_PATTERN } from '../wire/topics.ts';

const SHA256_RE = new RegExp(SHA256_PATTERN);
const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,200}$/;

/** The checksum line a release signature covers. */
export function releaseChecksumLine(sha256: string, fileName: string): string {
  if (!SHA256_RE.test(sha256))
    throw new Error(`release digest ${JSON.stringify(sha256)}: expected 64 lower-case hex characters`);
  if (!FILE_NAME_RE.test(fileName))
    throw new Error(`release file name ${JSON.stringify(fileName)}: expected a plain file name`);
  return `${sha256}  ${fileName}\n`;
}

/** Signs a release file's checksum line with an Ed25519 key; returns the raw 64-byte signature. */
export function signRelease(sha256: string, fileName: string, privateKey: KeyObject): Buffer {
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error(
      `release signatures use Ed25519 keys, but this is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; create one with \`wasmfleet sign keygen\``,
    );
  return sign(null, Buffer.from(releaseChecksumLine(sha256, fileName)), privateKey);
}

/** True when `signature` (raw bytes) is `publicKey`'s signature of the release file's checksum line. */
export function verifyRelease(
  sha256: string,
  fileName: string,
  signature: Uint8Array,
  publicKey: KeyObject,
): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519' || signature.length !== 64) return false;
  return verify(null, Buffer.from(releaseChecksumLine(sha256, fileName)), publicKey, signature);
}
