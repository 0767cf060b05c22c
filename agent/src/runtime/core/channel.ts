// SPDX-License-Identifier: Apache-2.0
// The shared-memory channel between the agent's main thread and one function's worker.
// A hand-off carries a whole batch of inputs (everything that arrived in one socket read): the
// main thread writes them into the request buffer, wakes the worker once, and the worker
// answers every input into the response buffer before it wakes the main thread once. Per
// message this costs no postMessage, no structured clone, no event-loop turn and no futex.
// Both threads import this file; it holds only the layout, the hand-off states and a small
// byte codec.
import { FAILURE_REASONS, type InvokeResult, type LogLevel } from '../types.ts';

/** Index of each Int32 control word. */
export const CTRL = {
  state: 0,
  op: 1,
  /** Inputs of the batch in the request. */
  count: 2,
  /** Index of the input the worker is running now (the watchdog's deadline follows it). */
  progress: 3,
  /** Inputs whose answer is complete in the response buffer (readable after a termination). */
  done: 4,
  /** Host call result. */
  result: 5,
} as const;
/** Float64 slot (byte offset 32): Date.now() when the current input started (deadlines). */
const STARTED_AT_BYTE = 32;
const CONTROL_BYTES = 64;

/**
 * Who holds the buffers. Each side waits while the word still has the value it wrote:
 * main writes REQUEST → worker answers RESPONSE (or HOSTCALL, main answers HOSTREPLY, …) →
 * main writes IDLE.
 */
export const STATE = { idle: 0, request: 1, response: 2, hostCall: 3, hostReply: 4 } as const;

export const OP = { init: 1, handle: 2, stateGet: 10, stateSet: 11 } as const;

export const INITIAL_BYTES = 64 * 1024;
/** Inputs of one hand-off: a batch that does not fit goes in several. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/**
 * Answers of one hand-off. The worker stops a batch early (the main thread sends the rest
 * again) once less than one worst-case answer (RECORD_RESERVE) is left.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** 1 MiB of outputs (call-context.ts) plus 32 log lines and framing, with room to spare. */
export const RECORD_RESERVE = 1024 * 1024 + 256 * 1024;
export const MAX_HOST_BYTES = 1024 * 1024 + 4096;

export interface ChannelBuffers {
  readonly ctrl: SharedArrayBuffer;
  readonly request: SharedArrayBuffer;
  readonly response: SharedArrayBuffer;
  readonly host: SharedArrayBuffer;
}

export function createChannel(): ChannelBuffers {
  // Growable: an idle function costs 64 KiB per direction, a 1 MiB message still fits.
  return {
    ctrl: new SharedArrayBuffer(CONTROL_BYTES),
    request: new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_REQUEST_BYTES }),
    response: new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_RESPONSE_BYTES }),
    host: new SharedArrayBuffer(4096, { maxByteLength: MAX_HOST_BYTES }),
  };
}

export interface ControlViews {
  readonly words: Int32Array;
  readonly startedAt: Float64Array;
}

export function controlViews(ctrl: SharedArrayBuffer): ControlViews {
  return {
    words: new Int32Array(ctrl, 0, STARTED_AT_BYTE / 4),
    startedAt: new Float64Array(ctrl, STARTED_AT_BYTE, 1),
  };
}

/**
 * Sequential writer over one buffer that grows on demand. Over a growable SharedArrayBuffer (the
 * channel to a worker) the views are created without a length, so they track its size and
 * growing never invalidates them. Over a plain ArrayBuffer (the agent's thread, which shares
 * nothing) growing moves what was written into a bigger buffer (`buffer` follows): views of a
 * fixed-size buffer are plain memory to the compiler, where every access through a view of a
 * growable shared one asks the engine for its current length (docs/adr/0051).
 */
export class Writer {
  #buffer: SharedArrayBuffer | ArrayBuffer;
  #bytes: Uint8Array;
  #view: DataView;
  /** What the buffer holds now; for a shared one a lower bound (the other side may grow it). */
  #capacity: number;
  readonly #maxBytes: number;
  pos = 0;
  constructor(buffer: SharedArrayBuffer | ArrayBuffer, maxBytes = buffer.maxByteLength) {
    this.#buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#capacity = buffer.byteLength;
    this.#maxBytes = maxBytes;
  }
  /** The buffer written to: a plain one is replaced when it grows. */
  get buffer(): SharedArrayBuffer | ArrayBuffer {
    return this.#buffer;
  }
  /** Grows the buffer when needed; false when `n` more bytes would not fit at all. */
  reserve(n: number): boolean {
    const needed = this.pos + n;
    return needed <= this.#capacity || this.#grow(needed);
  }
  #grow(needed: number): boolean {
    if (needed > this.#maxBytes) return false;
    const buffer = this.#buffer;
    const size = Math.min(this.#maxBytes, Math.max(needed, buffer.byteLength * 2));
    if (buffer instanceof SharedArrayBuffer) {
      if (needed > buffer.byteLength) buffer.grow(size);
      this.#capacity = buffer.byteLength;
      return true;
    }
    const bigger = new ArrayBuffer(size);
    new Uint8Array(bigger).set(this.#bytes.subarray(0, this.pos));
    this.#buffer = bigger;
    this.#bytes = new Uint8Array(bigger);
    this.#view = new DataView(bigger);
    this.#capacity = size;
    return true;
  }
  /** Bytes this buffer could still take after growing. */
  get room(): number {
    return this.#maxBytes - this.pos;
  }
  u32(v: number): void {
    this.#view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  /** Overwrites a u32 written earlier (a count known only at the end). */
  patch(at: number, v: number): void {
    this.#view.setUint32(at, v, true);
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
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  pos = 0;
  constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    this.buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
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
  /** A copy with its own ArrayBuffer: the channel is reused by the next hand-off. */
  bytes(): Uint8Array {
    const n = this.u32();
    const out = this.#bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /**
   * A copy in Node's Buffer pool: a small output costs one object, where bytes() makes a new
   * ArrayBuffer each time (a backing store V8 must track and free; 1 KB outputs paid most).
   */
  pooledCopy(): Buffer {
    const n = this.u32();
    const out = Buffer.allocUnsafe(n);
    out.set(this.#bytes.subarray(this.pos, this.pos + n));
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

/** Failure reasons travel as their index in this list (both threads load the same build). */
export const REASONS = FAILURE_REASONS;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const TOPIC_CACHE_ENTRIES = 256;
const topicEncoder = new TextEncoder();

/** Input topics as UTF-8, encoded once each: a device sees few distinct ones. */
export class TopicBytes {
  readonly #cache = new Map<string, Uint8Array>();
  get(topic: string): Uint8Array {
    let bytes = this.#cache.get(topic);
    if (!bytes) {
      if (this.#cache.size >= TOPIC_CACHE_ENTRIES) this.#cache.clear();
      bytes = topicEncoder.encode(topic);
      this.#cache.set(topic, bytes);
    }
    return bytes;
  }
}

const answerDecoder = new TextDecoder();
const NO_OUTPUTS: InvokeResult = Object.freeze({ ok: true, outputs: Object.freeze([]) });

/**
 * Decodes the first `done` answers of a response (guest-runner.ts writes them) into results,
 * passing their log lines to `log`. `r` reads the response from its start (one Reader per
 * response buffer, reused: two views and a reader per batch were a share of a small message's
 * garbage). Output payloads are copied: the buffer is reused.
 */
export function readAnswers(
  r: Reader,
  done: number,
  outputs: readonly string[],
  log: ((level: LogLevel, text: string) => void) | undefined,
): InvokeResult[] {
  r.pos = 0;
  const answers: InvokeResult[] = [];
  for (let i = 0; i < done; i++) {
    let result: InvokeResult;
    if (r.u32() === 1) {
      const n = r.u32();
      if (n === 0) result = NO_OUTPUTS;
      else {
        const list = [];
        for (let j = 0; j < n; j++) {
          const topic = outputs[r.u32()] ?? '';
          list.push({ topic, payload: r.pooledCopy() });
        }
        result = { ok: true, outputs: list };
      }
    } else {
      const reason = REASONS[r.u32()] ?? 'Trap';
      result = { ok: false, reason, message: answerDecoder.decode(r.view()) };
    }
    const logs = r.u32();
    for (let j = 0; j < logs; j++) {
      const level = LOG_LEVELS[r.u32()] ?? 'info';
      const text = answerDecoder.decode(r.view());
      log?.(level, text);
    }
    answers.push(result);
  }
  return answers;
}

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
  readonly channel: ChannelBuffers;
  readonly module?: WebAssembly.Module;
  readonly bytes?: Uint8Array;
  readonly outputs: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  readonly memoryBytes: number;
}

/**
 * Polls the state word for up to `micros` before the caller sleeps on it: a futex wake-up costs
 * ~10 µs on a loaded 2-core device, more than a small batch of core-module calls.
 */
export function spinUntilChanged(words: Int32Array, state: number, micros: number): boolean {
  const until = performance.now() + micros / 1000;
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(words, CTRL.state) !== state) return true;
    if (performance.now() >= until) return false;
  }
}
