// SPDX-License-Identifier: Apache-2.0
// The module blob envelope, retained on wasmfleet/v1/modules/<sha256>:
//
//   "WFM1" | u32 big-endian header length | UTF-8 JSON header | raw module bytes
//
// Raw bytes, not base64 JSON: modules are megabytes and devices are small. The header says what
// the bytes are; the receiver still hashes the bytes and compares them with the topic's digest.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { SHA256_PATTERN } from './topics.ts';

export const ENVELOPE_MAGIC = 'WFM1';

export const ModuleEnvelopeHeader = Type.Object(
  {
    sha256: Type.String({ pattern: SHA256_PATTERN }),
    size: Type.Integer({ minimum: 0 }),
    mediaType: Type.Union([Type.Literal('application/wasm')]),
  },
  { additionalProperties: false, $id: 'https://wasmfleet.io/schemas/wire/v1/module-envelope-header.json' },
);
export type ModuleEnvelopeHeader = Static<typeof ModuleEnvelopeHeader>;

const checkHeader = Compile(ModuleEnvelopeHeader);
const MAX_HEADER = 4096;

export function encodeModuleEnvelope(header: ModuleEnvelopeHeader, bytes: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + bytes.length);
  out.set(new TextEncoder().encode(ENVELOPE_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, false);
  out.set(json, 8);
  out.set(bytes, 8 + json.length);
  return out;
}

export type DecodedEnvelope =
  | { readonly ok: true; readonly header: ModuleEnvelopeHeader; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: string };

/** Parses an envelope; the bytes are a view into `payload`. Does not verify the digest. */
export function decodeModuleEnvelope(payload: Uint8Array): DecodedEnvelope {
  if (payload.length < 8 || new TextDecoder().decode(payload.subarray(0, 4)) !== ENVELOPE_MAGIC) {
    return { ok: false, error: 'not a module envelope (missing the WFM1 magic)' };
  }
  const headerLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(
    4,
    false,
  );
  if (headerLength > MAX_HEADER || 8 + headerLength > payload.length) {
    return { ok: false, error: `module envelope header length ${headerLength} is invalid` };
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    return { ok: false, error: `module envelope header is not JSON: ${(error as Error).message}` };
  }
  if (!checkHeader.Check(header)) {
    const first = [...checkHeader.Errors(header)][0];
    return {
      ok: false,
      error: `module envelope header is invalid: ${first ? `${first.instancePath || '/'} ${first.message}` : 'unknown'}`,
    };
  }
  const bytes = payload.subarray(8 + headerLength);
  if (bytes.length !== header.size) {
    return { ok: false, error: `module envelope says ${header.size} bytes but carries ${bytes.length}` };
  }
  return { ok: true, header, bytes };
}
