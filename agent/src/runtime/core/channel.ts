// The shared-memory channel between the agent's main thread and one function's worker.
// A call is a hand-off through one growable SharedArrayBuffer, woken with Atomics.notify, so a
// message costs no postMessage, no structured clone and no event-loop turn on either side.
// Both threads import this file; it holds only the layout, the hand-off states and a small
// byte codec.

/** Index of each Int32 control word at the start of the buffer. */
export const CTRL = { state: 0, op: 1, len: 2, result: 3 } as const;
const CONTROL_BYTES = 64;

/**
 * Who holds the buffer. Each side waits while the word still has the value it wrote:
 * main writes REQUEST → worker answers RESPONSE (or HOSTCALL, main answers HOSTREPLY, …) →
 * main writes IDLE.
 */
export const STATE = { idle: 0, request: 1, response: 2, hostCall: 3, hostReply: 4 } as const;

export const OP = { init: 1, handle: 2, stateGet: 10, stateSet: 11 } as const;

export const INITIAL_BYTES = 64 * 1024;
/** Room for a 1 MiB input or 1 MiB of outputs plus topics, logs and framing. */
export const MAX_BYTES = 4 * 1024 * 1024;

export function createChannelBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_BYTES });
}

export interface ChannelViews {
  readonly sab: SharedArrayBuffer;
  readonly ctrl: Int32Array;
}

export function channelViews(sab: SharedArrayBuffer): ChannelViews {
  return { sab, ctrl: new Int32Array(sab, 0, CONTROL_BYTES / 4) };
}

/** Makes room for `bytes` of data; returns false when the channel cannot hold that much. */
export function ensureCapacity(sab: SharedArrayBuffer, bytes: number): boolean {
  const needed = CONTROL_BYTES + bytes;
  if (needed <= sab.byteLength) return true;
  if (needed > MAX_BYTES) return false;
  sab.grow(Math.min(MAX_BYTES, Math.max(needed, sab.byteLength * 2)));
  return true;
}

/** Sequential writer over the data region. Callers ensureCapacity first. */
export class Writer {
  readonly #sab: SharedArrayBuffer;
  #bytes: Uint8Array;
  #view: DataView;
  pos = 0;
  constructor(sab: SharedArrayBuffer) {
    this.#sab = sab;
    this.#bytes = new Uint8Array(sab, CONTROL_BYTES);
    this.#view = new DataView(sab, CONTROL_BYTES);
  }
  /** Grows the channel when needed; false when the data would not fit at all. */
  reserve(n: number): boolean {
    if (!ensureCapacity(this.#sab, this.pos + n)) return false;
    if (this.#bytes.length < this.pos + n) {
      this.#bytes = new Uint8Array(this.#sab, CONTROL_BYTES);
      this.#view = new DataView(this.#sab, CONTROL_BYTES);
    }
    return true;
  }
  u32(v: number): void {
    this.#view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.#view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.#bytes.set(b, this.pos);
    this.pos += b.length;
  }
}

export class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  pos = 0;
  constructor(sab: SharedArrayBuffer) {
    this.#bytes = new Uint8Array(sab, CONTROL_BYTES);
    this.#view = new DataView(sab, CONTROL_BYTES);
  }
  u32(): number {
    const v = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** A copy: the channel is reused by the next call. */
  bytes(): Uint8Array {
    const n = this.u32();
    const out = this.#bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A view, valid only until the channel is written again. */
  view(): Uint8Array {
    const n = this.u32();
    const out = this.#bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

export const REASONS = [
  'Trap',
  'Timeout',
  'OutOfMemory',
  'GuestError',
  'InvalidModule',
  'MissingImport',
  'MissingExport',
  'ModuleTooLarge',
  'CompileTimeout',
  'InitFailed',
  'OutputRejected',
] as const;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Messages posted (once) from the worker while it starts. */
export type WorkerStartMessage =
  | {
      readonly type: 'instantiated';
      readonly module?: WebAssembly.Module;
      readonly compileMs: number;
      readonly instantiateUs: number;
    }
  | { readonly type: 'failed'; readonly reason: (typeof REASONS)[number]; readonly message: string };

export interface WorkerInit {
  readonly sab: SharedArrayBuffer;
  readonly module?: WebAssembly.Module;
  readonly bytes?: Uint8Array;
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
}

/**
 * Polls the state word for up to `micros` before the caller sleeps on it: a futex wake-up costs
 * ~10 µs on a loaded 2-core device, far more than most core-module calls.
 */
export function spinUntilChanged(ctrl: Int32Array, state: number, micros: number): boolean {
  const until = performance.now() + micros / 1000;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, CTRL.state) !== state) return true;
    if (performance.now() >= until) return false;
  }
}
