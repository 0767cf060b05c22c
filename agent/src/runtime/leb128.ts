// SPDX-License-Identifier: Apache-2.0
// Unsigned LEB128, as the WebAssembly binary format encodes every count, index and size.
// Pure functions, for the sandbox rewriter (wasm-binary.ts) and the deadline instrumenter
// (core/deadline-instrument.ts, whose hot decoder inlines allocation-free readers of its own).

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

/** Signed LEB128 (the deadline checkpoints' i32.const weights and fuel). */
export function encodeSleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
