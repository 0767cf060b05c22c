// SPDX-License-Identifier: Apache-2.0
// Reads and rewrites just enough of a WebAssembly binary to sandbox it BEFORE V8 compiles it:
// every memory (defined or imported) gets a maximum no larger than the function's memory limit,
// so a memory.grow bomb fails inside the guest instead of growing the agent; every table gets
// a bounded maximum; modules that ask for more than the limits up front are refused.
// Components are walked recursively: their embedded core modules are rewritten the same way.
// Pure: bytes in, bytes (or a SandboxViolation) out.
import { formatBytes } from '@wasmfleet/api';
import { encodeUleb, readUleb, skipSleb } from './leb128.ts';
import { ReasonError } from './errors.ts';

export const WASM_PAGE = 65_536;
const MAGIC = [0x00, 0x61, 0x73, 0x6d];

export type BinaryKind = 'core' | 'component';

export interface SandboxLimits {
  /** Largest linear memory any memory may reach, in bytes. */
  readonly memoryBytes: number;
  /** Largest number of elements any table may hold. */
  readonly tableElements: number;
}

export type SandboxProblem = 'InvalidModule' | 'OutOfMemory';

/** A module the sandbox refuses, with the reason the function status will show. */
export class SandboxViolation extends ReasonError<SandboxProblem> {
  override readonly name = 'SandboxViolation';
}

/** Tells a core module from a component by the header (a component's layer field is 1). */
export function binaryKind(bytes: Uint8Array): BinaryKind {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new SandboxViolation(
      'InvalidModule',
      'not a WebAssembly binary (the \\0asm magic number is missing)',
    );
  }
  const version = byteAt(bytes, 4) | (byteAt(bytes, 5) << 8);
  const layer = byteAt(bytes, 6) | (byteAt(bytes, 7) << 8);
  if (layer === 0 && version === 1) return 'core';
  if (layer === 1) return 'component';
  throw new SandboxViolation('InvalidModule', `unsupported WebAssembly version ${version}, layer ${layer}`);
}

/** Returns a copy of the binary with memory and table maxima capped; throws SandboxViolation. */
export function sandboxBinary(bytes: Uint8Array, limits: SandboxLimits): Uint8Array {
  try {
    return binaryKind(bytes) === 'core' ? rewriteCore(bytes, limits) : rewriteComponent(bytes, limits);
  } catch (error) {
    if (error instanceof SandboxViolation) throw error;
    throw new SandboxViolation('InvalidModule', `malformed WebAssembly binary: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

// --- core modules -------------------------------------------------------------------------

const SECTION_IMPORT = 2;
const SECTION_TABLE = 4;
const SECTION_MEMORY = 5;

function rewriteCore(bytes: Uint8Array, limits: SandboxLimits): Uint8Array {
  const chunks: Uint8Array[] = [];
  let pos = 8;
  // Header plus rewritten sections not yet flushed into `chunks`.
  let pending: number[] = Array.from(bytes.subarray(0, 8));
  while (pos < bytes.length) {
    const id = byteAt(bytes, pos);
    const size = readUleb(bytes, pos + 1);
    const start = size.next;
    const end = start + size.value;
    if (end > bytes.length) throw new RangeError(`section ${id} runs past the end of the module`);
    const body = bytes.subarray(start, end);
    let rewritten: number[] | undefined;
    if (id === SECTION_IMPORT) rewritten = rewriteImports(body, limits);
    else if (id === SECTION_TABLE) rewritten = rewriteVector(body, limits, readTableType);
    else if (id === SECTION_MEMORY)
      rewritten = rewriteVector(body, limits, (b, p, l, o) => readLimits(b, p, l, o, 'memory'));
    if (rewritten) {
      pending.push(id, ...encodeUleb(rewritten.length), ...rewritten);
    } else {
      // Untouched sections are copied as views: code and data sections can be megabytes.
      chunks.push(Uint8Array.from(pending), bytes.subarray(pos, end));
      pending = [];
    }
    pos = end;
  }
  chunks.push(Uint8Array.from(pending));
  return concatBytes(chunks);
}

type EntryRewriter = (bytes: Uint8Array, pos: number, limits: SandboxLimits, out: number[]) => number;

function rewriteVector(body: Uint8Array, limits: SandboxLimits, entry: EntryRewriter): number[] {
  const count = readUleb(body, 0);
  const out = encodeUleb(count.value);
  let pos = count.next;
  for (let i = 0; i < count.value; i++) pos = entry(body, pos, limits, out);
  if (pos !== body.length) throw new RangeError('section has trailing bytes');
  return out;
}

function rewriteImports(body: Uint8Array, limits: SandboxLimits): number[] {
  return rewriteVector(body, limits, (b, p, l, out) => {
    let pos = p;
    for (let name = 0; name < 2; name++) {
      const len = readUleb(b, pos);
      pos = len.next + len.value;
    }
    const kind = b[pos];
    copy(b, p, pos + 1, out);
    pos += 1;
    switch (kind) {
      case 0x00: // function: type index
        return copyTo(b, pos, readUleb(b, pos).next, out);
      case 0x01: // table
        return readTableType(b, pos, l, out);
      case 0x02: // memory
        return readLimits(b, pos, l, out, 'memory');
      case 0x03: // global: valtype + mutability
        return copyTo(b, pos, skipValType(b, pos) + 1, out);
      case 0x04: // tag: attribute + type index
        return copyTo(b, pos, readUleb(b, pos + 1).next, out);
      default:
        throw new RangeError(`unknown import kind 0x${(kind ?? 0).toString(16)}`);
    }
  });
}

function readTableType(b: Uint8Array, p: number, limits: SandboxLimits, out: number[]): number {
  if (b[p] === 0x40) {
    throw new SandboxViolation('InvalidModule', 'tables with initialiser expressions are not supported');
  }
  const afterRef = skipRefType(b, p);
  copy(b, p, afterRef, out);
  return readLimits(b, afterRef, limits, out, 'table');
}

/** Reads a limits record and writes it back with a capped maximum. */
function readLimits(
  b: Uint8Array,
  p: number,
  limits: SandboxLimits,
  out: number[],
  what: 'memory' | 'table',
): number {
  const flags = b[p];
  if (flags === undefined) throw new RangeError('truncated limits');
  if (flags & 0x04)
    throw new SandboxViolation('InvalidModule', '64-bit memories (memory64) are not supported');
  if (flags & ~0x07) throw new RangeError(`unknown limits flags 0x${flags.toString(16)}`);
  const min = readUleb(b, p + 1);
  let next = min.next;
  let max: number | undefined;
  if (flags & 0x01) {
    const m = readUleb(b, next);
    max = m.value;
    next = m.next;
  }
  const cap = what === 'memory' ? Math.floor(limits.memoryBytes / WASM_PAGE) : limits.tableElements;
  if (min.value > cap) {
    if (what === 'memory') {
      throw new SandboxViolation(
        'OutOfMemory',
        `the module asks for ${formatBytes(min.value * WASM_PAGE)} of initial memory; the limit is ${formatBytes(cap * WASM_PAGE)}`,
      );
    }
    throw new SandboxViolation(
      'InvalidModule',
      `the module asks for a table of ${min.value} elements; the limit is ${cap}`,
    );
  }
  const newMax = max === undefined ? cap : Math.min(max, cap);
  // Keep the shared bit (0x02) and always set has-max (0x01).
  out.push((flags & 0x02) | 0x01, ...encodeUleb(min.value), ...encodeUleb(newMax));
  return next;
}

function skipRefType(b: Uint8Array, p: number): number {
  const t = b[p];
  if (t === 0x63 || t === 0x64) return skipSleb(b, p + 1); // (ref null? heaptype)
  if (t === undefined) throw new RangeError('truncated reference type');
  return p + 1;
}

function skipValType(b: Uint8Array, p: number): number {
  return skipRefType(b, p);
}

function byteAt(b: Uint8Array, i: number): number {
  const v = b[i];
  if (v === undefined) throw new RangeError(`unexpected end of module at offset ${i}`);
  return v;
}

function copy(b: Uint8Array, from: number, to: number, out: number[]): void {
  for (let i = from; i < to; i++) out.push(byteAt(b, i));
}

function copyTo(b: Uint8Array, from: number, to: number, out: number[]): number {
  copy(b, from, to, out);
  return to;
}

// --- components ---------------------------------------------------------------------------

const COMPONENT_CORE_MODULE = 1;
const COMPONENT_NESTED = 4;

function rewriteComponent(bytes: Uint8Array, limits: SandboxLimits): Uint8Array {
  const chunks: Uint8Array[] = [bytes.subarray(0, 8)];
  let pos = 8;
  while (pos < bytes.length) {
    const id = byteAt(bytes, pos);
    const size = readUleb(bytes, pos + 1);
    const end = size.next + size.value;
    if (end > bytes.length) throw new RangeError(`component section ${id} runs past the end`);
    if (id === COMPONENT_CORE_MODULE || id === COMPONENT_NESTED) {
      const inner = bytes.subarray(size.next, end);
      const rewritten =
        id === COMPONENT_CORE_MODULE ? rewriteCore(inner, limits) : rewriteComponent(inner, limits);
      chunks.push(Uint8Array.from([id, ...encodeUleb(rewritten.length)]), rewritten);
    } else {
      chunks.push(bytes.subarray(pos, end));
    }
    pos = end;
  }
  return concatBytes(chunks);
}

/** The chunks one after another in a new array (Buffer.concat would return a Buffer). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
