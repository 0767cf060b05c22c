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
    // A new instance's memory: the old instance's view (still attached) must not be used.
    this.#buffer = undefined;
    this.#bytes = new Uint8Array(0);
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

  /**
   * The view of the current memory for a read or write, without asking the engine for the
   * buffer: memory.grow detaches the old buffer, and a view of a detached buffer has length 0, so
   * a non-empty view is still the live memory. (Each `memory.buffer` and its byteLength is a call
   * into the engine; read and write made four per message, docs/adr/0051.)
   */
  #live(): Uint8Array {
    const bytes = this.#bytes;
    return bytes.length > 0 ? bytes : this.bytes;
  }

  get view(): DataView {
    if (!this.#memory) throw new HostTrap('the module has no exported memory');
    return new DataView(this.#memory.buffer);
  }

  get byteLength(): number {
    return this.#memory?.buffer.byteLength ?? 0;
  }

  check(ptr: number, len: number): void {
    if (ptr < 0 || len < 0 || ptr + len > this.byteLength) outOfBounds(ptr, len, this.byteLength);
  }

  read(ptr: number, len: number): Uint8Array {
    // >>> 0: the guest passes i32, so addresses above 2 GiB arrive negative.
    const p = ptr >>> 0;
    const n = len >>> 0;
    const bytes = this.#live();
    if (p + n > bytes.length) outOfBounds(p, n, bytes.length);
    return bytes.subarray(p, p + n);
  }

  write(ptr: number, data: Uint8Array): void {
    const p = ptr >>> 0;
    const bytes = this.#live();
    if (p + data.length > bytes.length) outOfBounds(p, data.length, bytes.length);
    bytes.set(data, p);
  }
}

function outOfBounds(ptr: number, len: number, size: number): never {
  throw new HostTrap(`out of bounds: ${len} bytes at ${ptr} (memory is ${size} bytes)`);
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
