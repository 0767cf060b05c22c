// SPDX-License-Identifier: Apache-2.0
// Unsigned LEB128, as the WebAssembly binary format encodes every count, index and size.
// Pure functions; the module rewriter (wasm-binary.ts) is their only user.

export interface Leb {
  readonly value: number;
  /** Offset just past the encoded number. */
  readonly next: number;
}

/** Reads a u32 (up to 5 bytes) or, with maxBytes 10, a u64 as a float (exact below 2^53). */
export function readUleb(bytes: Uint8Array, offset: number, maxBytes = 5): Leb {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new RangeError(`truncated LEB128 at offset ${offset}`);
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: offset + i + 1 };
  }
  throw new RangeError(`LEB128 at offset ${offset} is longer than ${maxBytes} bytes`);
}

/** Reads a signed LEB128 (used by GC heap types, s33); only the length matters to us. */
export function skipSleb(bytes: Uint8Array, offset: number, maxBytes = 5): number {
  for (let i = 0; i < maxBytes; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) throw new RangeError(`truncated LEB128 at offset ${offset}`);
    if ((byte & 0x80) === 0) return offset + i + 1;
  }
  throw new RangeError(`LEB128 at offset ${offset} is longer than ${maxBytes} bytes`);
}

export function encodeUleb(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot LEB128-encode ${value}`);
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}
