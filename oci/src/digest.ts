// SPDX-License-Identifier: Apache-2.0
// SHA-256 helpers and a capped, hashing reader for response bodies: the hash is computed while
// the bytes arrive, and reading stops the moment the size limit is passed.
import { createHash } from 'node:crypto';
import { formatBytes } from '@wasmfleet/api';
import { ModuleResolutionError } from './resolution-error.ts';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

/** The hex part of an OCI digest (`sha256:<hex>`), or undefined for other forms/algorithms. */
export function parseDigest(digest: string): string | undefined {
  return DIGEST_RE.exec(digest)?.[1];
}

export interface CappedBody {
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

/**
 * Reads a web stream to the end, hashing as it goes; throws `TooLarge` as soon as more than
 * `maxBytes` arrived, cancelling the stream so the peer stops sending.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  where: string,
): Promise<CappedBody> {
  const hash = createHash('sha256');
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (body === null) return { bytes: new Uint8Array(0), sha256: hash.digest('hex') };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(
          where,
          maxBytes,
          `more than ${formatBytes(maxBytes)} arrived before the download was stopped`,
        );
      }
      hash.update(value);
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return { bytes: Buffer.concat(chunks, total), sha256: hash.digest('hex') };
}

export function tooLarge(where: string, maxBytes: number, detail: string): ModuleResolutionError {
  return new ModuleResolutionError(
    'TooLarge',
    `${where} is larger than the ${formatBytes(maxBytes)} module limit (${detail}); shrink the module (strip debug sections, wasm-opt -Oz) or raise the operator's module size limit`,
  );
}

/** Throws `DigestMismatch` naming both digests when `actual` is not `expected`. */
export function assertDigest(expected: string, actual: string, where: string, hint: string): void {
  if (expected === actual) return;
  throw new ModuleResolutionError(
    'DigestMismatch',
    `${where} has sha256 ${actual}, but ${expected} was expected; ${hint}`,
  );
}
