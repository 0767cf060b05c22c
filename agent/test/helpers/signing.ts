// SPDX-License-Identifier: Apache-2.0
// Signing material for agent tests: key pairs on disk as a device would hold them, WasmFleet
// signatures made with the shared api code, and cosign signature material built the way cosign
// builds it (simple-signing payload over the manifest digest, ECDSA P-256/SHA-256 DER signature;
// the operator tests check the same verifier against the real cosign CLI).
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  COSIGN_PAYLOAD_TYPE,
  signModuleDigest,
  type CosignSignature,
  type WasmfleetSignature,
} from '@wasmfleet/api';
import { sha256Hex } from '../../src/store/module-store.ts';

export interface KeyPair {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function ed25519Key(id: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { id, privateKey, publicKey };
}

export function p256Key(id: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { id, privateKey, publicKey };
}

/** Writes `<dir>/<id>.pub` for each key: the device's trusted-keys directory. */
export async function writeTrustedKeys(dir: string, keys: readonly KeyPair[]): Promise<void> {
  for (const k of keys)
    await writeFile(path.join(dir, `${k.id}.pub`), k.publicKey.export({ type: 'spki', format: 'pem' }));
}

export function wasmfleetSignature(bytes: Uint8Array, key: KeyPair): WasmfleetSignature {
  return { keyId: key.id, ed25519: signModuleDigest(sha256Hex(bytes), key.privateKey) };
}

/** An OCI manifest holding `bytes` as its wasm layer, as `wasmfleet push` writes one. */
export function wasmManifest(bytes: Uint8Array): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/wasm',
      config: {
        mediaType: 'application/vnd.wasm.config.v0+json',
        digest: `sha256:${sha256Hex(new Uint8Array())}`,
        size: 0,
      },
      layers: [{ mediaType: 'application/wasm', digest: `sha256:${sha256Hex(bytes)}`, size: bytes.length }],
    }),
  );
}

/** cosign-shaped material: `key` signs a simple-signing payload naming sha256(manifest). */
export function cosignSignature(manifest: Uint8Array, key: KeyPair): CosignSignature {
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': '127.0.0.1:5000/acme/fn' },
        image: { 'docker-manifest-digest': digest },
        type: COSIGN_PAYLOAD_TYPE,
      },
      optional: null,
    }),
  );
  const signature = sign(
    key.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256',
    payload,
    key.privateKey,
  );
  return {
    cosign: {
      payload: payload.toString('base64'),
      signature: signature.toString('base64'),
      manifest: Buffer.from(manifest).toString('base64'),
    },
  };
}
