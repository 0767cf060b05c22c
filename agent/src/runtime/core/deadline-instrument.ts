// SPDX-License-Identifier: Apache-2.0
// Rewrites an untrusted core module so that a host deadline can stop it without terminating a
// thread: that is what lets well-behaved guests run on the Node main thread instead of a worker.
//
// The rewriter adds a fuel counter (a mutable i32 global) and, at every function entry, at the top
// of every loop and before every bulk operation whose cost scales with an operand, a stack-neutral
// checkpoint that subtracts a weight from the fuel. When the fuel runs out the checkpoint calls the
// host's check through `call_indirect` on a new one-slot funcref table the host fills after
// instantiation; the check throws when the deadline has passed, which unwinds the guest (it cannot
// catch it: modules using exception handling are refused). Only loops and calls can run
// unboundedly, so this bounds how far a guest runs past its deadline.
//
// Why a table and not an imported check function: an import would shift every function index,
// so every call, ref.func, export, element segment and the name section would have to be
// rewritten. Appending a type, a table and a global at the END of their index spaces shifts no
// existing index, so everything but the code section is copied byte for byte.
//
// A start section is removed and its function exported instead, because the table is empty
// until the host fills it after instantiation. Anything the decoder does not understand is
// refused (never thrown): the caller then runs the module in a worker thread as before.
// Pure and linear: bytes in, bytes out.
import { encodeSleb, encodeUleb, readUleb } from '../leb128.ts';
import { binaryKind, concatBytes } from '../wasm-binary.ts';

/** Name of the exported one-slot funcref table; the host puts its deadline check function at index 0 before any call. */
export const DEADLINE_TABLE_EXPORT = '__wasmfleet_deadline';
/** When the module had a start section it is removed and its function exported under this name; the host calls it after filling the table. */
export const START_EXPORT = '__wasmfleet_start';
/** Instruction units a guest may run between two calls to the check. */
export const FUEL_PER_CHECK = 100_000;
/** Weight of the checkpoint before memory.grow, memory.copy/fill/init and table.grow/copy/fill/init. */
const BULK_WEIGHT = 10_000;

export type Instrumented =
  | {
      readonly ok: true;
      readonly bytes: Uint8Array;
      readonly hasStart: boolean;
      readonly checkpoints: number;
    }
  | { readonly ok: false; readonly reason: string };

export function instrumentDeadlines(bytes: Uint8Array): Instrumented {
  try {
    return rewriteModule(bytes);
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.message };
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `malformed WebAssembly binary: ${message}` };
  }
}

// (module (import "h" "check" (func)) (export "check" (func 0))): turns a JS function into a
// WebAssembly function, the only kind of value a funcref table accepts.
const TRAMPOLINE = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // type section: [] -> []
  ...[0x02, 0x0b, 0x01, 0x01, 0x68, 0x05, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x00, 0x00], // import "h" "check"
  ...[0x07, 0x09, 0x01, 0x05, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x00, 0x00], // export "check" (func 0)
);
let trampoline: WebAssembly.Module | undefined;

/**
 * Wraps `check` as a WebAssembly function of type [] -> [] that can be stored in the deadline
 * table (`table.set(0, fn)`). `check` should throw once the deadline has passed.
 */
export function createDeadlineCheck(check: () => void): WebAssembly.ExportValue {
  trampoline ??= new WebAssembly.Module(TRAMPOLINE);
  const fn = new WebAssembly.Instance(trampoline, { h: { check } }).exports.check;
  if (fn === undefined) throw new Error('deadline trampoline has no "check" export');
  return fn;
}

/** Each check wrapped once: every instance on a thread can share one (inline-function.ts). */
const wrapped = new WeakMap<() => void, WebAssembly.ExportValue>();

/** Puts `check` into an instrumented instance's deadline table; call before any export. */
export function installDeadlineCheck(instance: WebAssembly.Instance, check: () => void): void {
  const table = instance.exports[DEADLINE_TABLE_EXPORT];
  if (!(table instanceof WebAssembly.Table)) {
    throw new TypeError(`the instance has no "${DEADLINE_TABLE_EXPORT}" table: it was not instrumented`);
  }
  let fn = wrapped.get(check);
  if (!fn) {
    fn = createDeadlineCheck(check);
    wrapped.set(check, fn);
  }
  table.set(0, fn);
}

// --- errors -------------------------------------------------------------------------------

/** A well-formed module using something the rewriter does not support. */
class Refused extends Error {}
/** Bytes the rewriter cannot decode. */
class Malformed extends Error {}

// --- byte reader --------------------------------------------------------------------------

class Reader {
  readonly b: Uint8Array;
  pos: number;
  end: number;
  constructor(b: Uint8Array, pos: number, end: number) {
    this.b = b;
    this.pos = pos;
    this.end = end;
  }
  u8(): number {
    const v = this.pos < this.end ? this.b[this.pos] : undefined;
    if (v === undefined) throw new Malformed(`unexpected end of data at offset ${this.pos}`);
    this.pos++;
    return v;
  }
  peek(): number {
    const v = this.pos < this.end ? this.b[this.pos] : undefined;
    if (v === undefined) throw new Malformed(`unexpected end of data at offset ${this.pos}`);
    return v;
  }
  // The LEB128 readers below are allocation-free versions of leb128.ts's: they run for nearly
  // every instruction of the code section.
  u32(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > 0xffff_ffff) throw new Malformed(`u32 out of range at offset ${this.pos}`);
        return value;
      }
      scale *= 128;
    }
    throw new Malformed(`LEB128 longer than 5 bytes at offset ${this.pos}`);
  }
  /** Skips a signed or unsigned LEB128 of at most maxBytes bytes (64-bit values take 10). */
  skipLeb(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) if (this.u8() < 0x80) return;
    throw new Malformed(`LEB128 longer than ${maxBytes} bytes at offset ${this.pos}`);
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new Malformed(`unexpected end of data at offset ${this.pos}`);
    this.pos += n;
  }
  /** Skips a name (length-prefixed bytes) and returns where its bytes start. */
  name(): number {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return start;
  }
  done(what: string): void {
    if (this.pos !== this.end) throw new Malformed(`${what} has ${this.end - this.pos} trailing bytes`);
  }
}

// --- module structure ---------------------------------------------------------------------

const SEC_CUSTOM = 0;
const SEC_TYPE = 1;
const SEC_IMPORT = 2;
const SEC_FUNCTION = 3;
const SEC_TABLE = 4;
const SEC_MEMORY = 5;
const SEC_GLOBAL = 6;
const SEC_EXPORT = 7;
const SEC_START = 8;
const SEC_ELEMENT = 9;
const SEC_CODE = 10;
const SEC_DATA = 11;
const SEC_TAG = 13;
/** Position of each known non-custom section id in the required section order. */
const SECTION_RANK = new Map([
  [SEC_TYPE, 1],
  [SEC_IMPORT, 2],
  [SEC_FUNCTION, 3],
  [SEC_TABLE, 4],
  [SEC_MEMORY, 5],
  [SEC_TAG, 6],
  [SEC_GLOBAL, 7],
  [SEC_EXPORT, 8],
  [SEC_START, 9],
  [SEC_ELEMENT, 10],
  [12, 11], // data count
  [SEC_CODE, 12],
  [SEC_DATA, 13],
]);

interface Section {
  readonly id: number;
  /** Offset of the section id byte. */
  readonly start: number;
  /** Offset of the section contents. */
  readonly body: number;
  readonly end: number;
}

/** Index space sizes of the ORIGINAL module, and what the checkpoints refer to. */
interface ModuleInfo {
  types: number;
  /** Per type index: whether it is [] -> [] (a valid start function type). */
  readonly emptyTypes: boolean[];
  /** Type index of every function, imported first. */
  readonly funcTypes: number[];
  importedFuncs: number;
  tables: number;
  globals: number;
}

const enc = new TextEncoder();
const RESERVED_EXPORTS = [DEADLINE_TABLE_EXPORT, START_EXPORT].map((n) => enc.encode(n));

function rewriteModule(bytes: Uint8Array): Instrumented {
  if (binaryKind(bytes) === 'component') {
    throw new Refused('components (layer 1 binaries) are not supported; only core modules are instrumented');
  }
  const sections = readSections(bytes);
  const find = (id: number): Section | undefined => sections.find((s) => s.id === id);
  const read = readModule(bytes, find);
  const { info, scanner, startFunc } = read;

  // The new entities, each at the end of its index space: no existing index moves.
  const checkType = info.types;
  const deadlineTable = info.tables;
  const fuelGlobal = info.globals;
  const newExports = [[...exportName(DEADLINE_TABLE_EXPORT), 0x01, ...encodeUleb(deadlineTable)]];
  if (startFunc !== undefined) newExports.push([...exportName(START_EXPORT), 0x00, ...encodeUleb(startFunc)]);
  const replaced = new Map<number, Uint8Array>([
    [SEC_TYPE, appendEntries(bytes, read.types, [[0x60, 0x00, 0x00]])],
    [SEC_TABLE, appendEntries(bytes, read.tables, [[0x70, 0x01, 0x01, 0x01]])],
    [
      SEC_GLOBAL,
      appendEntries(bytes, read.globals, [[0x7f, 0x01, 0x41, ...encodeSleb(FUEL_PER_CHECK), 0x0b]]),
    ],
    [SEC_EXPORT, appendEntries(bytes, read.exports, newExports)],
  ]);

  const codeSec = find(SEC_CODE);
  const definedFuncs = info.funcTypes.length - info.importedFuncs;
  if (!codeSec && definedFuncs > 0) throw new Malformed('function section without a code section');
  let checkpoints = 0;
  if (codeSec) {
    const code = rewriteCode(
      bytes,
      codeSec,
      info,
      scanner,
      new Checkpoint(checkType, deadlineTable, fuelGlobal),
    );
    replaced.set(SEC_CODE, code.body);
    checkpoints = code.checkpoints;
  }
  const out = assemble(bytes, sections, replaced);
  return { ok: true, bytes: out, hasStart: startFunc !== undefined, checkpoints };
}

/** The module's sections, refused when out of order or of a kind the rewriter does not know. */
function readSections(bytes: Uint8Array): Section[] {
  const sections: Section[] = [];
  let lastRank = 0;
  for (let pos = 8; pos < bytes.length;) {
    const id = bytes[pos] ?? 0;
    const size = readUleb(bytes, pos + 1);
    const end = size.next + size.value;
    if (end > bytes.length) throw new Malformed(`section ${id} runs past the end of the module`);
    if (id !== SEC_CUSTOM) {
      if (id === SEC_TAG) throw new Refused('exception handling (tag section)');
      const rank = SECTION_RANK.get(id);
      if (rank === undefined) throw new Refused(`unknown section id ${id}`);
      if (rank <= lastRank) throw new Malformed(`section ${id} is out of order or repeated`);
      lastRank = rank;
    }
    sections.push({ id, start: pos, body: size.next, end });
    pos = end;
  }
  return sections;
}

/** What the sections before the code say, and the entries of those the rewriter appends to. */
interface ModuleRead {
  readonly info: ModuleInfo;
  readonly scanner: Scanner;
  readonly types: Vec | undefined;
  readonly tables: Vec | undefined;
  readonly globals: Vec | undefined;
  readonly exports: Vec | undefined;
  readonly startFunc: number | undefined;
}

function readModule(bytes: Uint8Array, find: (id: number) => Section | undefined): ModuleRead {
  const info: ModuleInfo = {
    types: 0,
    emptyTypes: [],
    funcTypes: [],
    importedFuncs: 0,
    tables: 0,
    globals: 0,
  };
  const scanner = new Scanner(info);
  const typeSec = find(SEC_TYPE);
  const types = typeSec && readTypes(bytes, typeSec, info);
  const importSec = find(SEC_IMPORT);
  if (importSec) readImports(bytes, importSec, info);
  const funcSec = find(SEC_FUNCTION);
  if (funcSec) readFunctions(bytes, funcSec, info);
  const tableSec = find(SEC_TABLE);
  const tables = tableSec && readTables(bytes, tableSec, info);
  const memorySec = find(SEC_MEMORY);
  if (memorySec) readMemories(bytes, memorySec);
  const globalSec = find(SEC_GLOBAL);
  const globals = globalSec && readGlobals(bytes, globalSec, info, scanner);
  const exportSec = find(SEC_EXPORT);
  const exports = exportSec && readExports(bytes, exportSec, info);
  const startSec = find(SEC_START);
  const startFunc = startSec && readStart(bytes, startSec, info);
  const elemSec = find(SEC_ELEMENT);
  if (elemSec) readElements(bytes, elemSec, info, scanner);
  const dataSec = find(SEC_DATA);
  if (dataSec) readData(bytes, dataSec, scanner);
  return { info, scanner, types, tables, globals, exports, startFunc };
}

/**
 * The module again with its replaced sections and without its start section. Sections the module
 * lacks are created right before the first section that must follow them.
 */
function assemble(
  bytes: Uint8Array,
  sections: readonly Section[],
  replaced: ReadonlyMap<number, Uint8Array>,
): Uint8Array {
  const missing = [SEC_TYPE, SEC_TABLE, SEC_GLOBAL, SEC_EXPORT].filter(
    (id) => !sections.some((s) => s.id === id),
  );
  const chunks: Uint8Array[] = [bytes.subarray(0, 8)];
  const emit = (id: number, body: Uint8Array): void => {
    chunks.push(Uint8Array.from([id, ...encodeUleb(body.length)]), body);
  };
  const flushMissingBefore = (rank: number): void => {
    for (let id = missing[0]; id !== undefined && rankOf(id) < rank; id = missing[0]) {
      missing.shift();
      emit(id, replaced.get(id) ?? new Uint8Array());
    }
  };
  for (const s of sections) {
    if (s.id !== SEC_CUSTOM) flushMissingBefore(rankOf(s.id));
    if (s.id === SEC_START) continue;
    const body = replaced.get(s.id);
    if (body) emit(s.id, body);
    else chunks.push(bytes.subarray(s.start, s.end));
  }
  flushMissingBefore(Infinity);
  return concatBytes(chunks);
}

function rankOf(id: number): number {
  return SECTION_RANK.get(id) ?? 0;
}

// --- section readers: check what we rely on, record index space sizes ---------------------

/** A vector section: its entry count and where the entries start. */
interface Vec {
  readonly section: Section;
  readonly count: number;
  readonly entries: number;
}

function readTypes(bytes: Uint8Array, s: Section, info: ModuleInfo): Vec {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  const entries = r.pos;
  for (let i = 0; i < count; i++) {
    const form = r.u8();
    if (form !== 0x60) throw new Refused(typeFormReason(form, i));
    const params = r.u32();
    for (let p = 0; p < params; p++) valType(r, `type ${i}`);
    const results = r.u32();
    for (let p = 0; p < results; p++) valType(r, `type ${i}`);
    info.emptyTypes.push(params === 0 && results === 0);
  }
  r.done('type section');
  info.types = count;
  return { section: s, count, entries };
}

function readImports(bytes: Uint8Array, s: Section, info: ModuleInfo): void {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    r.name();
    r.name();
    const kind = r.u8();
    switch (kind) {
      case 0x00:
        info.funcTypes.push(typeIndex(r, info, `import ${i}`));
        info.importedFuncs++;
        break;
      case 0x01:
        tableType(r, `import ${i}`);
        info.tables++;
        break;
      case 0x02:
        limits(r, 'memory');
        break;
      case 0x03:
        valType(r, `import ${i}`);
        mutability(r);
        info.globals++;
        break;
      case 0x04:
        throw new Refused(`exception handling (tag import ${i})`);
      default:
        throw new Malformed(`unknown import kind 0x${hex(kind)}`);
    }
  }
  r.done('import section');
}

function readFunctions(bytes: Uint8Array, s: Section, info: ModuleInfo): void {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  for (let i = 0; i < count; i++) info.funcTypes.push(typeIndex(r, info, 'the function section'));
  r.done('function section');
}

function readTables(bytes: Uint8Array, s: Section, info: ModuleInfo): Vec {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  const entries = r.pos;
  for (let i = 0; i < count; i++) tableType(r, `table ${info.tables + i}`);
  r.done('table section');
  info.tables += count;
  return { section: s, count, entries };
}

function readMemories(bytes: Uint8Array, s: Section): void {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  for (let i = 0; i < count; i++) limits(r, 'memory');
  r.done('memory section');
}

function readGlobals(bytes: Uint8Array, s: Section, info: ModuleInfo, scanner: Scanner): Vec {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  const entries = r.pos;
  const first = info.globals;
  info.globals += count;
  for (let i = 0; i < count; i++) {
    valType(r, `global ${first + i}`);
    mutability(r);
    scanner.scan(r, 'a global initialiser', false);
  }
  r.done('global section');
  return { section: s, count, entries };
}

function readExports(bytes: Uint8Array, s: Section, info: ModuleInfo): Vec {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  const entries = r.pos;
  for (let i = 0; i < count; i++) {
    const nameStart = r.name();
    const name = bytes.subarray(nameStart, r.pos);
    for (const reserved of RESERVED_EXPORTS) {
      if (sameBytes(name, reserved)) {
        throw new Refused(
          `the module already exports "${new TextDecoder().decode(reserved)}", a reserved name`,
        );
      }
    }
    const kind = r.u8();
    const index = r.u32();
    // The new table and global must stay out of the guest's reach, even through an invalid index.
    const size =
      kind === 0x00
        ? info.funcTypes.length
        : kind === 0x01
          ? info.tables
          : kind === 0x03
            ? info.globals
            : kind === 0x02
              ? Infinity
              : -1;
    if (kind === 0x04) throw new Refused(`exception handling (tag export ${i})`);
    if (size < 0) throw new Malformed(`unknown export kind 0x${hex(kind)}`);
    if (index >= size)
      throw new Malformed(`export ${i} refers to a missing entity (kind ${kind}, index ${index})`);
  }
  r.done('export section');
  return { section: s, count, entries };
}

function readStart(bytes: Uint8Array, s: Section, info: ModuleInfo): number {
  const r = new Reader(bytes, s.body, s.end);
  const func = r.u32();
  r.done('start section');
  const type = info.funcTypes[func];
  if (type === undefined) throw new Malformed(`the start function ${func} does not exist`);
  // Exported instead of run, an invalid start function would turn an invalid module valid.
  if (info.emptyTypes[type] !== true) throw new Malformed(`the start function ${func} must be [] -> []`);
  return func;
}

function readElements(bytes: Uint8Array, s: Section, info: ModuleInfo, scanner: Scanner): void {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    if (flags > 7) throw new Refused(`unknown element segment flags ${flags}`);
    const where = `element segment ${i}`;
    if ((flags & 0x01) === 0) {
      // Active: an explicit or implicit (0) table, and an offset expression.
      const table = flags & 0x02 ? r.u32() : 0;
      if (table >= info.tables)
        throw new Malformed(`${where} refers to table ${table}, which does not exist`);
      scanner.scan(r, where, false);
    }
    if (flags & 0x04) {
      if (flags & 0x03) refType(r, where);
      const n = r.u32();
      for (let e = 0; e < n; e++) scanner.scan(r, where, false);
    } else {
      if (flags & 0x03 && r.u8() !== 0x00) throw new Refused(`unknown element kind in ${where}`);
      const n = r.u32();
      for (let e = 0; e < n; e++) r.u32();
    }
  }
  r.done('element section');
}

function readData(bytes: Uint8Array, s: Section, scanner: Scanner): void {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    if (flags === 2) r.u32();
    if (flags === 0 || flags === 2) scanner.scan(r, 'a data segment offset', false);
    else if (flags !== 1) throw new Refused(`unknown data segment flags ${flags}`);
    r.skip(r.u32());
  }
  r.done('data section');
}

/** The section's contents with `extra` entries appended (or a new section holding just them). */
function appendEntries(
  bytes: Uint8Array,
  vec: Vec | undefined,
  extra: readonly (readonly number[])[],
): Uint8Array {
  const head = encodeUleb((vec?.count ?? 0) + extra.length);
  const rest = vec ? bytes.subarray(vec.entries, vec.section.end) : new Uint8Array();
  const tail = extra.flat();
  const out = new Uint8Array(head.length + rest.length + tail.length);
  out.set(head, 0);
  out.set(rest, head.length);
  out.set(tail, head.length + rest.length);
  return out;
}

function exportName(name: string): number[] {
  const b = enc.encode(name);
  return [...encodeUleb(b.length), ...b];
}

function typeIndex(r: Reader, info: ModuleInfo, where: string): number {
  const t = r.u32();
  if (t >= info.types) throw new Malformed(`${where} refers to type ${t}, which does not exist`);
  return t;
}

function tableType(r: Reader, where: string): void {
  if (r.peek() === 0x40) {
    throw new Refused(`typed function references (table with an initialiser expression, ${where})`);
  }
  refType(r, where);
  limits(r, 'table');
}

function refType(r: Reader, where: string): void {
  const t = r.u8();
  if (t !== 0x70 && t !== 0x6f) throw new Refused(valTypeReason(t, where));
}

function limits(r: Reader, what: 'memory' | 'table'): void {
  const flags = r.u8();
  if (flags & 0x04) {
    throw new Refused(
      what === 'memory' ? 'memory64 (64-bit memory limits)' : 'table64 (64-bit table limits)',
    );
  }
  if (flags & ~0x03) throw new Refused(`unknown ${what} limits flags 0x${hex(flags)}`);
  r.u32();
  if (flags & 0x01) r.u32();
}

function mutability(r: Reader): void {
  const m = r.u8();
  if (m > 1) throw new Refused(`unknown global mutability 0x${hex(m)}`);
}

function isValType(t: number): boolean {
  return t === 0x7f || t === 0x7e || t === 0x7d || t === 0x7c || t === 0x7b || t === 0x70 || t === 0x6f;
}

function valType(r: Reader, where: string): void {
  const t = r.u8();
  if (!isValType(t)) throw new Refused(valTypeReason(t, where));
}

function valTypeReason(t: number, where: string): string {
  if (t === 0x69 || t === 0x74) return `exception handling (exnref at ${where})`;
  if (t === 0x63 || t === 0x64) return `typed function references ((ref ...) type at ${where})`;
  if (t >= 0x6a && t <= 0x73) return `GC (reference type 0x${hex(t)} at ${where})`;
  return `unknown value type 0x${hex(t)} at ${where}`;
}

function heapTypeReason(t: number, where: string): string {
  if (t === 0x69 || t === 0x74) return `exception handling (ref.null exn at ${where})`;
  return `GC / typed function references (ref.null of heap type 0x${hex(t)} at ${where})`;
}

function typeFormReason(form: number, index: number): string {
  const what =
    form === 0x4e
      ? 'a rec group'
      : form === 0x50 || form === 0x4f
        ? 'a subtype'
        : form === 0x5e
          ? 'an array type'
          : form === 0x5f
            ? 'a struct type'
            : undefined;
  return what ? `GC types (type ${index} is ${what})` : `unknown type form 0x${hex(form)} (type ${index})`;
}

// --- instructions -------------------------------------------------------------------------

const EH_OPCODES = new Map([
  [0x06, 'try'],
  [0x07, 'catch'],
  [0x08, 'throw'],
  [0x09, 'rethrow'],
  [0x0a, 'throw_ref'],
  [0x18, 'delegate'],
  [0x19, 'catch_all'],
  [0x1f, 'try_table'],
]);
const GC_OPCODES = new Map([
  [0x14, 'call_ref'],
  [0x15, 'return_call_ref'],
  [0xd3, 'ref.eq'],
  [0xd4, 'ref.as_non_null'],
  [0xd5, 'br_on_null'],
  [0xd6, 'br_on_non_null'],
  [0xfb, 'a 0xfb-prefixed instruction'],
]);
/** Unassigned opcodes inside the SIMD (0xfd) range 0x00..0x113 (relaxed SIMD ends at 0x113). */
const SIMD_RESERVED = new Set([
  0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4,
  0xe2, 0xee,
]);

function opcodeReason(op: number, where: string): string {
  const eh = EH_OPCODES.get(op);
  if (eh) return `exception handling (${eh} at ${where})`;
  const gc = GC_OPCODES.get(op);
  if (gc) return `GC / typed function references (${gc} at ${where})`;
  return `unknown opcode 0x${hex(op)} at ${where}`;
}

/** What follows each single-byte opcode; the decoder switches on this small dense range. */
const K = {
  Unknown: 0,
  None: 1,
  Block: 2,
  Loop: 3,
  End: 4,
  Index: 5,
  BrTable: 6,
  CallIndirect: 7,
  SelectT: 8,
  Global: 9,
  Table: 10,
  MemoryGrow: 11,
  Memarg: 12,
  I32Const: 13,
  I64Const: 14,
  F32Const: 15,
  F64Const: 16,
  RefNull: 17,
  PrefixFC: 18,
  PrefixFD: 19,
  PrefixFE: 20,
} as const;
const OPCODE_KIND = ((): Uint8Array => {
  const t = new Uint8Array(256); // K.Unknown
  const set = (kind: number, ...ops: number[]): void => {
    for (const op of ops) t[op] = kind;
  };
  // unreachable nop else return drop select ref.is_null
  set(K.None, 0x00, 0x01, 0x05, 0x0f, 0x1a, 0x1b, 0xd1);
  for (let op = 0x45; op <= 0xc4; op++) t[op] = K.None; // numeric (incl. sign extension)
  set(K.Block, 0x02, 0x04); // block if
  set(K.Loop, 0x03);
  set(K.End, 0x0b);
  // br br_if call return_call local.get/set/tee memory.size ref.func
  set(K.Index, 0x0c, 0x0d, 0x10, 0x12, 0x20, 0x21, 0x22, 0x3f, 0xd2);
  set(K.BrTable, 0x0e);
  set(K.CallIndirect, 0x11, 0x13); // call_indirect return_call_indirect
  set(K.SelectT, 0x1c);
  set(K.Global, 0x23, 0x24);
  set(K.Table, 0x25, 0x26); // table.get table.set
  set(K.MemoryGrow, 0x40);
  for (let op = 0x28; op <= 0x3e; op++) t[op] = K.Memarg; // loads and stores
  set(K.I32Const, 0x41);
  set(K.I64Const, 0x42);
  set(K.F32Const, 0x43);
  set(K.F64Const, 0x44);
  set(K.RefNull, 0xd0);
  set(K.PrefixFC, 0xfc);
  set(K.PrefixFD, 0xfd);
  set(K.PrefixFE, 0xfe);
  return t;
})();

function clampWeight(instructions: number): number {
  return Math.min(FUEL_PER_CHECK, Math.max(1, instructions));
}

/**
 * Decodes expressions. When asked to instrument, records where checkpoints go (offsets in the
 * original bytes, ascending) and their weights.
 */
class Scanner {
  readonly info: ModuleInfo;
  readonly points: number[] = [];
  readonly weights: number[] = [];
  /** Per open block: index into points of its loop checkpoint, or -1. */
  readonly #ctlPoint: number[] = [];
  /** Per open block: the instruction count at its opening. */
  readonly #ctlStart: number[] = [];
  constructor(info: ModuleInfo) {
    this.info = info;
  }

  /** Decodes up to and including the `end` closing the expression; returns its instruction count. */
  scan(r: Reader, where: string, instrument: boolean): number {
    const ctlPoint = this.#ctlPoint;
    const ctlStart = this.#ctlStart;
    let count = 0;
    let depth = 0;
    for (;;) {
      const at = r.pos;
      const op = r.u8();
      count++;
      const kind = OPCODE_KIND[op] ?? K.Unknown;
      if (kind === K.None) continue;
      switch (kind) {
        case K.Block:
          this.#blockType(r, where);
          ctlPoint[depth] = -1;
          ctlStart[depth++] = count;
          break;
        case K.Loop: // its checkpoint goes right after the block type
          this.#blockType(r, where);
          if (instrument) {
            ctlPoint[depth] = this.points.length;
            this.points.push(r.pos);
            this.weights.push(1);
          } else {
            ctlPoint[depth] = -1;
          }
          ctlStart[depth++] = count;
          break;
        case K.End: {
          if (depth === 0) return count - 1;
          depth--;
          const p = ctlPoint[depth] ?? -1;
          if (p >= 0) this.weights[p] = clampWeight(count - 1 - (ctlStart[depth] ?? 0));
          break;
        }
        default:
          this.#immediates(r, kind, op, at, where, instrument);
      }
    }
  }

  /** Decodes the immediates of one instruction that opens or closes no block. */
  #immediates(r: Reader, kind: number, op: number, at: number, where: string, instrument: boolean): void {
    switch (kind) {
      case K.Index:
        r.u32();
        return;
      case K.BrTable: {
        const n = r.u32(); // n labels and a default
        for (let i = 0; i <= n; i++) r.u32();
        return;
      }
      case K.CallIndirect:
        typeIndex(r, this.info, where);
        this.#tableIndex(r, where);
        return;
      case K.SelectT: {
        const n = r.u32();
        for (let i = 0; i < n; i++) valType(r, where);
        return;
      }
      case K.Global: {
        const g = r.u32();
        if (g >= this.info.globals)
          throw new Malformed(`${where} refers to global ${g}, which does not exist`);
        return;
      }
      case K.Table:
        this.#tableIndex(r, where);
        return;
      case K.MemoryGrow:
        if (instrument) this.#bulk(at);
        r.u32();
        return;
      case K.Memarg:
        memarg(r);
        return;
      default:
        this.#constOrPrefixed(r, kind, op, at, where, instrument);
    }
  }

  /** Constants, ref.null and the 0xfc/0xfd/0xfe prefixed instructions. */
  #constOrPrefixed(
    r: Reader,
    kind: number,
    op: number,
    at: number,
    where: string,
    instrument: boolean,
  ): void {
    switch (kind) {
      case K.I32Const:
        r.skipLeb(5);
        return;
      case K.I64Const:
        r.skipLeb(10);
        return;
      case K.F32Const:
        r.skip(4);
        return;
      case K.F64Const:
        r.skip(8);
        return;
      case K.RefNull: {
        const t = r.u8(); // heap type
        if (t !== 0x70 && t !== 0x6f) throw new Refused(heapTypeReason(t, where));
        return;
      }
      case K.PrefixFC:
        this.#prefixFC(r, at, where, instrument);
        return;
      case K.PrefixFD:
        prefixFD(r, where);
        return;
      case K.PrefixFE:
        prefixFE(r, where);
        return;
      default:
        throw new Refused(opcodeReason(op, where));
    }
  }

  #bulk(at: number): void {
    this.points.push(at);
    this.weights.push(BULK_WEIGHT);
  }

  #tableIndex(r: Reader, where: string): void {
    const t = r.u32();
    if (t >= this.info.tables) throw new Malformed(`${where} refers to table ${t}, which does not exist`);
  }

  /** 0x40 (empty), a value type, or a non-negative s33 type index. */
  #blockType(r: Reader, where: string): void {
    const t = r.peek();
    if (t === 0x40 || isValType(t)) {
      r.pos++;
      return;
    }
    if ((t & 0xc0) === 0x40) throw new Refused(valTypeReason(t, `a block type at ${where}`));
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const byte = r.u8();
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) {
        if (byte & 0x40 || value >= this.info.types) {
          throw new Malformed(`${where} has a block type referring to a missing type`);
        }
        return;
      }
    }
    throw new Malformed(`${where} has an overlong block type`);
  }

  #prefixFC(r: Reader, at: number, where: string, instrument: boolean): void {
    const sub = r.u32();
    switch (sub) {
      case 0: // i32.trunc_sat_f32_s ... i64.trunc_sat_f64_u
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 6:
      case 7:
        return;
      case 8: // memory.init data memory
      case 10: // memory.copy memory memory
        if (instrument) this.#bulk(at);
        r.u32();
        r.u32();
        return;
      case 9: // data.drop
      case 13: // elem.drop
        r.u32();
        return;
      case 11: // memory.fill memory
        if (instrument) this.#bulk(at);
        r.u32();
        return;
      case 12: // table.init elem table
        if (instrument) this.#bulk(at);
        r.u32();
        this.#tableIndex(r, where);
        return;
      case 14: // table.copy table table
        if (instrument) this.#bulk(at);
        this.#tableIndex(r, where);
        this.#tableIndex(r, where);
        return;
      case 15: // table.grow
      case 17: // table.fill
        if (instrument) this.#bulk(at);
        this.#tableIndex(r, where);
        return;
      case 16: // table.size
        this.#tableIndex(r, where);
        return;
      default:
        throw new Refused(`unknown opcode 0xfc ${sub} at ${where}`);
    }
  }
}

/** align (bit 6: a memory index follows), [memory], offset. */
function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32();
  r.skipLeb(10);
}

function prefixFD(r: Reader, where: string): void {
  const sub = r.u32();
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d)
    memarg(r); // loads, store, load32/64_zero
  else if (sub === 0x0c || sub === 0x0d)
    r.skip(16); // v128.const, i8x16.shuffle
  else if (sub >= 0x15 && sub <= 0x22)
    r.skip(1); // extract/replace_lane
  else if (sub >= 0x54 && sub <= 0x5b) {
    memarg(r); // load/store_lane
    r.skip(1);
  } else if (sub > 0x113 || SIMD_RESERVED.has(sub)) {
    throw new Refused(`unknown opcode 0xfd 0x${hex(sub)} at ${where}`);
  }
}

function prefixFE(r: Reader, where: string): void {
  const sub = r.u32();
  if (sub === 0x01 || sub === 0x02) {
    // On a shared memory a wait can block the thread indefinitely without running an instruction.
    throw new Refused(`atomic wait (memory.atomic.wait${sub === 1 ? 32 : 64} at ${where})`);
  }
  if (sub === 0x00 || (sub >= 0x10 && sub <= 0x4e)) memarg(r);
  else if (sub === 0x03)
    r.skip(1); // atomic.fence
  else throw new Refused(`unknown opcode 0xfe 0x${hex(sub)} at ${where}`);
}

// --- code section rewrite -----------------------------------------------------------------

/**
 * global.get $fuel ; i32.const w ; i32.sub ; global.set $fuel ; global.get $fuel ; i32.const 0 ;
 * i32.le_s ; if ; i32.const 0 ; call_indirect $check $deadline ; i32.const FUEL ; global.set $fuel ; end
 */
class Checkpoint {
  readonly head: Uint8Array;
  readonly tail: Uint8Array;
  constructor(checkType: number, table: number, fuel: number) {
    const g = encodeUleb(fuel);
    this.head = Uint8Array.from([0x23, ...g, 0x41]);
    this.tail = Uint8Array.from([
      ...[0x6b, 0x24, ...g, 0x23, ...g, 0x41, 0x00, 0x4c, 0x04, 0x40],
      ...[0x41, 0x00, 0x11, ...encodeUleb(checkType), ...encodeUleb(table)],
      ...[0x41, ...encodeSleb(FUEL_PER_CHECK), 0x24, ...g, 0x0b],
    ]);
  }
  size(weight: number): number {
    return this.head.length + slebSize(weight) + this.tail.length;
  }
}

function rewriteCode(
  bytes: Uint8Array,
  s: Section,
  info: ModuleInfo,
  scanner: Scanner,
  checkpoint: Checkpoint,
): { body: Uint8Array; checkpoints: number } {
  const r = new Reader(bytes, s.body, s.end);
  const count = r.u32();
  const defined = info.funcTypes.length - info.importedFuncs;
  if (count !== defined) throw new Malformed(`the code section has ${count} bodies for ${defined} functions`);
  const { points, weights } = scanner;
  const out = new Writer(s.end - s.body + count * 48 + 16);
  out.uleb(count);
  let checkpoints = 0;
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > s.end) throw new Malformed(`function body ${i} runs past the code section`);
    r.end = end;
    const where = `function ${info.importedFuncs + i}`;
    const decls = r.u32();
    for (let d = 0; d < decls; d++) {
      r.u32();
      valType(r, where);
    }
    points.length = 0;
    weights.length = 0;
    points.push(r.pos);
    weights.push(1);
    weights[0] = clampWeight(scanner.scan(r, where, true));
    r.done(`the body of ${where}`);
    let grown = 0;
    for (const w of weights) grown += checkpoint.size(w);
    out.uleb(size + grown);
    let from = start;
    for (let k = 0; k < points.length; k++) {
      const at = points[k] ?? end;
      out.copy(bytes, from, at);
      out.checkpoint(checkpoint, weights[k] ?? 1);
      from = at;
    }
    out.copy(bytes, from, end);
    checkpoints += points.length;
    r.end = s.end;
  }
  r.done('code section');
  return { body: out.result(), checkpoints };
}

class Writer {
  #buf: Uint8Array;
  #pos = 0;
  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
  }
  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
  }
  copy(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.#ensure(n);
    if (n > 16) this.#buf.set(src.subarray(from, to), this.#pos);
    else for (let i = 0; i < n; i++) this.#buf[this.#pos + i] = src[from + i] ?? 0;
    this.#pos += n;
  }
  uleb(value: number): void {
    this.#ensure(5);
    let rest = value;
    do {
      let byte = rest & 0x7f;
      rest = Math.floor(rest / 128);
      if (rest !== 0) byte |= 0x80;
      this.#buf[this.#pos++] = byte;
    } while (rest !== 0);
  }
  checkpoint(c: Checkpoint, weight: number): void {
    this.#ensure(c.size(weight));
    this.#buf.set(c.head, this.#pos);
    this.#pos += c.head.length;
    for (const byte of encodeSleb(weight)) this.#buf[this.#pos++] = byte;
    this.#buf.set(c.tail, this.#pos);
    this.#pos += c.tail.length;
  }
  result(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

// --- small helpers ------------------------------------------------------------------------

/** Bytes of the signed LEB128 of a weight in [1, FUEL_PER_CHECK]. */
function slebSize(value: number): number {
  return value < 0x40 ? 1 : value < 0x2000 ? 2 : 3;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
