// SPDX-License-Identifier: Apache-2.0
// Bounds-checked access to a guest's linear memory from host functions. A guest that passes a
// bad pointer gets a trap, never a silently clamped view (Uint8Array.subarray clamps).

export class HostTrap extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostTrap';
  }
}

export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;
  #buffer: ArrayBuffer | undefined;
  #bytes = new Uint8Array(0);

  attach(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  get bytes(): Uint8Array {
    if (!this.#memory) throw new HostTrap('the module has no exported memory');
    // memory.grow detaches the previous buffer, so the view is rebuilt when the buffer changes
    // (and only then: a view per host call was a measurable share of a small call).
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#bytes = new Uint8Array(buffer);
    }
    return this.#bytes;
  }

  get view(): DataView {
    if (!this.#memory) throw new HostTrap('the module has no exported memory');
    return new DataView(this.#memory.buffer);
  }

  get byteLength(): number {
    return this.#memory?.buffer.byteLength ?? 0;
  }

  check(ptr: number, len: number): void {
    if (ptr < 0 || len < 0 || ptr + len > this.byteLength) {
      throw new HostTrap(`out of bounds: ${len} bytes at ${ptr} (memory is ${this.byteLength} bytes)`);
    }
  }

  read(ptr: number, len: number): Uint8Array {
    // >>> 0: the guest passes i32, so addresses above 2 GiB arrive negative.
    const p = ptr >>> 0;
    const n = len >>> 0;
    this.check(p, n);
    return this.bytes.subarray(p, p + n);
  }

  write(ptr: number, data: Uint8Array): void {
    const p = ptr >>> 0;
    this.check(p, data.length);
    this.bytes.set(data, p);
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Decodes UTF-8 or traps: keys and topics must be valid text. */
export function decodeStrict(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new HostTrap(`${what} is not valid UTF-8`);
  }
}
