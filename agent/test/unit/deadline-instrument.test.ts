// SPDX-License-Identifier: Apache-2.0
// The deadline rewriter: instrumented guests keep their behaviour, stop at the host's deadline
// (loops, recursion, tail calls, start code), and anything unsupported is refused, never thrown.
import assert from 'node:assert/strict';
import { glob, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import {
  DEADLINE_TABLE_EXPORT,
  FUEL_PER_CHECK,
  instrumentDeadlines,
  installDeadlineCheck,
  START_EXPORT,
  createDeadlineCheck,
} from '../../src/runtime/core/deadline-instrument.ts';
import { FIXTURES, fixture, hostile } from '../helpers/wasm.ts';

// --- helpers ------------------------------------------------------------------------------

const wabtReady = wabtInit();
const ALL_FEATURES = {
  simd: true,
  multi_value: true,
  bulk_memory: true,
  reference_types: true,
  threads: true,
  tail_call: true,
  sat_float_to_int: true,
  sign_extension: true,
};

/** WAT to bytes with the given wabt feature flags (the shared helper only enables a few). */
async function wat(text: string, features: Record<string, boolean> = ALL_FEATURES): Promise<Uint8Array> {
  const wabt = await wabtReady;
  const module = wabt.parseWat('test.wat', text, features);
  try {
    module.validate();
    return module.toBinary({}).buffer.slice();
  } finally {
    module.destroy();
  }
}

function instrument(bytes: Uint8Array): { bytes: Uint8Array; hasStart: boolean; checkpoints: number } {
  const result = instrumentDeadlines(bytes);
  if (!result.ok) assert.fail(`refused: ${result.reason}`);
  return result;
}

function refusal(bytes: Uint8Array): string {
  const result = instrumentDeadlines(bytes);
  if (result.ok) assert.fail('the module was instrumented, but should have been refused');
  return result.reason;
}

class DeadlineExceeded extends Error {}

/** A check that throws once `ms` have passed, counting its calls. */
function deadline(ms: number): { check: () => void; calls: number } {
  const end = performance.now() + ms;
  const state = {
    calls: 0,
    check: () => {
      state.calls++;
      if (performance.now() > end) throw new DeadlineExceeded(`deadline of ${ms} ms exceeded`);
    },
  };
  return state;
}

type Fn = (...args: unknown[]) => unknown;

function instantiate(
  bytes: Uint8Array,
  check?: () => void,
  imports: WebAssembly.Imports = {},
): Record<string, Fn> & { instance: WebAssembly.Instance } {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  if (check) installDeadlineCheck(instance, check);
  return Object.assign(Object.create(null) as Record<string, Fn>, instance.exports, { instance });
}

const valid = (bytes: Uint8Array): boolean => WebAssembly.validate(bytes);

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const section = (id: number, ...content: number[]): number[] => [id, ...leb(content.length), ...content];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** (module (type (func)) [extra sections 4..9] (func (type 0) <code>)), hand-encoded. */
function oneFunction(code: number[], between: number[] = []): Uint8Array {
  const body = [0x00, ...code, 0x0b];
  return Uint8Array.from([
    ...HEADER,
    ...section(1, 0x01, 0x60, 0x00, 0x00),
    ...section(3, 0x01, 0x00),
    ...between,
    ...section(10, 0x01, ...leb(body.length), ...body),
  ]);
}

function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  for (let pos = 8; pos < bytes.length;) {
    ids.push(bytes[pos]!);
    let size = 0;
    let scale = 1;
    let p = pos + 1;
    for (;;) {
      const b = bytes[p++]!;
      size += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) break;
    }
    pos = p + size;
  }
  return ids;
}

/** Marks the first defined memory shared (wabt.js refuses to assemble `shared`). */
function shareMemory(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let pos = 8; pos < out.length;) {
    const id = out[pos]!;
    const size = out[pos + 1]!; // the test modules' sections before the code are small
    assert.ok(size < 0x80);
    if (id === 5) {
      out[pos + 3] = out[pos + 3]! | 0x02; // count, then the first memory's limits flags
      return out;
    }
    pos += 2 + size;
  }
  return assert.fail('no memory section');
}

/** Every fixture module: healthy/*.wat and hostile/<problem>/module.(wat|wasm). */
async function allFixtures(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const file of (await readdir(new URL('healthy/', FIXTURES)))
    .filter((f) => f.endsWith('.wat'))
    .sort()) {
    out.push({ name: `healthy/${file}`, bytes: await fixture(`healthy/${file}`) });
  }
  for (const problem of (await readdir(new URL('hostile/', FIXTURES))).sort()) {
    const files = await readdir(new URL(`hostile/${problem}/`, FIXTURES));
    if (!files.some((f) => f.startsWith('module.'))) continue; // generated at test time or derived
    out.push({ name: `hostile/${problem}`, bytes: await hostile(problem) });
  }
  return out;
}

// --- behaviour ----------------------------------------------------------------------------

/** Runs a fixture's wf_alloc/wf_handle with recording stubs for every host import. */
function runGuest(bytes: Uint8Array, payload: Uint8Array, check?: () => void): unknown {
  const module = new WebAssembly.Module(bytes);
  const calls: string[] = [];
  const guest: { memory?: WebAssembly.Memory } = {};
  const imports: Record<string, Record<string, Fn>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    (imports[imp.module] ??= {})[imp.name] = (...args: unknown[]) => {
      const bytesAt = (p: unknown, n: unknown): string =>
        guest.memory && typeof p === 'number' && typeof n === 'number' && p >= 0 && n >= 0
          ? Buffer.from(guest.memory.buffer.slice(p, p + n)).toString('latin1')
          : '';
      calls.push(`${imp.name}(${args.join(',')}) ${bytesAt(args[2], args[3])}`);
      if (imp.name === 'proc_exit') throw new Error(`exit ${String(args[0])}`);
      return 0;
    };
  }
  const instance = new WebAssembly.Instance(module, imports);
  if (check) installDeadlineCheck(instance, check);
  const memory = (guest.memory = instance.exports.memory as WebAssembly.Memory);
  const exports = instance.exports as Record<string, Fn>;
  let result: unknown;
  try {
    const ptr = exports.wf_alloc!(payload.length) as number;
    new Uint8Array(memory.buffer).set(payload, ptr);
    result = exports.wf_handle!(ptr, payload.length);
  } catch (error) {
    result = `threw ${(error as Error).message}`;
  }
  return { result, calls, memory: Buffer.from(memory.buffer, 0, 4096).toString('base64') };
}

describe('deadline instrumentation', () => {
  it('keeps every healthy fixture valid and computing the same results', async () => {
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    const u32 = (n: number, rest: string): Uint8Array => {
      const b = new Uint8Array(4 + rest.length);
      new DataView(b.buffer).setUint32(0, n, true);
      b.set(enc(rest), 4);
      return b;
    };
    const cases: Record<string, Uint8Array[]> = {
      'echo.wat': [enc('hello'), new Uint8Array(0), new Uint8Array(70_000).fill(7)],
      'features.wat': ['c', 's', 't', 'l', 'e', 'u', 'p', '2', 'x', '?'].map((op) => enc(`${op}-payload`)),
      'spin-echo.wat': [u32(0, 'zero'), u32(1000, 'thousand'), u32(3_000_000, 'millions')],
    };
    for (const [file, payloads] of Object.entries(cases)) {
      const original = await fixture(`healthy/${file}`);
      const out = instrument(original);
      assert.equal(valid(out.bytes), true, file);
      assert.equal(out.hasStart, false);
      assert.ok(out.checkpoints >= 2, `${file}: ${out.checkpoints} checkpoints`);
      for (const payload of payloads) {
        const counter = deadline(60_000);
        assert.deepEqual(runGuest(out.bytes, payload, counter.check), runGuest(original, payload), file);
      }
    }
    // The spin loop really is metered: 3 million iterations reach the check.
    const counter = deadline(60_000);
    runGuest(instrument(await fixture('healthy/spin-echo.wat')).bytes, u32(3_000_000, ''), counter.check);
    assert.ok(counter.calls > 10, `${counter.calls} checks`);
  });

  it('stops hostile/loop-forever with the host error soon after the deadline', async () => {
    const out = instrument(await hostile('loop-forever'));
    const d = deadline(50);
    const guest = instantiate(out.bytes, d.check);
    const started = performance.now();
    assert.throws(() => guest.wf_handle!(0, 0), DeadlineExceeded);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 5_000, `stopped after ${elapsed.toFixed(0)} ms`);
    assert.ok(d.calls > 0);
    // The instance stays usable: a later call with a fresh deadline runs (and stops) again.
    installDeadlineCheck(guest.instance, deadline(10).check);
    assert.throws(() => guest.wf_handle!(0, 0), DeadlineExceeded);
  });

  it('reaches the check through function entries in recursion without loops', async () => {
    const out = instrument(
      await wat(`(module
        (func $fib (export "fib") (param $n i32) (result i32)
          (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
            (then (local.get $n))
            (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                           (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`),
    );
    assert.equal(out.checkpoints, 1); // the entry of the only function
    const counting = deadline(60_000);
    assert.equal(instantiate(out.bytes, counting.check).fib!(25), 75_025);
    assert.ok(counting.calls > 0, 'the check ran');
    // fib(45) makes billions of calls; the deadline stops it.
    assert.throws(() => instantiate(out.bytes, deadline(30).check).fib!(45), DeadlineExceeded);
  });

  it('stops an endless tail-call chain (return_call)', async () => {
    const out = instrument(
      await wat(`(module
        (func $down (export "down") (param i32) (result i32)
          (if (result i32) (i32.eqz (local.get 0))
            (then (i32.const 42))
            (else (return_call $down (i32.sub (local.get 0) (i32.const 1)))))))`),
    );
    assert.equal(instantiate(out.bytes, deadline(60_000).check).down!(1_000_000), 42);
    assert.throws(() => instantiate(out.bytes, deadline(30).check).down!(-1), DeadlineExceeded);
  });

  it('exports the start function instead of running it during instantiation', async () => {
    const original = await wat(`(module
      (global $ran (export "ran") (mut i32) (i32.const 0))
      (func $init (global.set $ran (i32.const 1)) (loop $spin (br $spin)))
      (start $init))`);
    const out = instrument(original);
    assert.equal(out.hasStart, true);
    assert.ok(sectionIds(original).includes(8));
    // Checked before instantiating: a start section left in place would hang this test.
    assert.ok(!sectionIds(out.bytes).includes(8), 'the start section is gone');
    const module = new WebAssembly.Module(out.bytes);
    assert.deepEqual(
      WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`),
      ['ran:global', `${DEADLINE_TABLE_EXPORT}:table`, `${START_EXPORT}:function`],
    );
    const guest = instantiate(out.bytes, deadline(30).check);
    const ran = guest.instance.exports.ran as WebAssembly.Global;
    assert.equal(ran.value, 0, 'start code did not run during instantiation');
    assert.throws(() => guest[START_EXPORT]!(), DeadlineExceeded);
    assert.equal(ran.value, 1, 'the exported start function is the original one');
  });

  it('counts a 10,000,000-iteration loop right and calls the check about iterations*weight/FUEL times', async () => {
    const out = instrument(
      await wat(`(module
        (func (export "count") (param $n i32) (result i32) (local $i i32)
          (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $i)))`),
    );
    assert.equal(out.checkpoints, 2); // function entry + loop
    const iterations = 10_000_000;
    const weight = 8; // local.get i32.const i32.add local.set local.get local.get i32.lt_u br_if
    const expected = Math.floor((iterations * weight) / FUEL_PER_CHECK);
    const counter = deadline(60_000);
    assert.equal(instantiate(out.bytes, counter.check).count!(iterations), iterations);
    assert.ok(counter.calls <= expected + 2, `${counter.calls} checks, expected about ${expected}`);
    assert.ok(counter.calls >= expected - 2, `${counter.calls} checks, expected about ${expected}`);
  });

  it('instruments SIMD, multi-value, bulk memory, reference types, conversions and calls with the same results', async () => {
    const original = await wat(`(module
      (type $pair (func (param i32) (result i32 i32)))
      (memory 1 2)
      (table $t 4 funcref)
      (table $x 2 externref)
      (elem $e func $double $inc)
      (data $d "\\01\\02\\03\\04\\05\\06\\07\\08")
      (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
      (func (export "simd") (param $n i32) (result i32) (local $v v128) (local $i i32)
        (local.set $v (v128.const i32x4 1 2 3 4))
        (loop $l
          (local.set $v (i32x4.add (local.get $v) (i32x4.splat (local.get $i))))
          (local.set $v (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $v) (local.get $v)))
          (local.set $v (i32x4.replace_lane 3 (local.get $v)
            (i32.add (i32x4.extract_lane 3 (local.get $v)) (i32.const 1))))
          (v128.store offset=16 (i32.const 0) (local.get $v))
          (local.set $v (v128.load32_lane 1 (i32.const 16) (local.get $v)))
          (v128.store16_lane 2 (i32.const 64) (local.get $v))
          (local.set $v (i16x8.add_sat_s (local.get $v) (v128.load16_splat (i32.const 64))))
          (local.set $v (f32x4.convert_i32x4_s (i32x4.trunc_sat_f32x4_s (f32x4.abs (local.get $v)))))
          (local.set $v (i32x4.trunc_sat_f32x4_s (local.get $v)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i32.add (i32x4.extract_lane 0 (local.get $v))
          (i32.add (i32x4.extract_lane 3 (local.get $v)) (i32.load16_u (i32.const 64)))))
      (func (export "multi") (param $x i32) (result i32)
        (local.get $x)
        (block (param i32) (result i32 i32) (i32.const 10))
        (call $swap)
        (loop (param i32 i32) (result i32) (i32.sub))
        (block (type $pair) (param i32) (result i32 i32) (i32.const 3))
        (i32.mul))
      (func (export "bulk") (result i32)
        (memory.init $d (i32.const 100) (i32.const 0) (i32.const 8))
        (memory.copy (i32.const 200) (i32.const 100) (i32.const 8))
        (memory.fill (i32.const 300) (i32.const 7) (i32.const 4))
        (data.drop $d)
        (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2))
        (table.copy $t $t (i32.const 2) (i32.const 0) (i32.const 2))
        (drop (table.grow $t (ref.null func) (i32.const 1)))
        (table.fill $t (i32.const 4) (ref.func $inc) (i32.const 1))
        (elem.drop $e)
        (drop (memory.grow (i32.const 1)))
        (i32.add
          (i32.add (i32.load8_u (i32.const 207)) (i32.load8_u (i32.const 303)))
          (i32.add (i32.add (table.size $t) (memory.size))
            (call_indirect $t (param i32) (result i32) (i32.const 20) (i32.const 4)))))
      (func (export "refs") (param $r externref) (result i32)
        (table.set $x (i32.const 1) (local.get $r))
        (i32.add (ref.is_null (table.get $x (i32.const 0)))
          (select (result i32) (i32.const 5) (i32.const 6) (ref.is_null (table.get $x (i32.const 1))))))
      (func (export "conv") (param f64) (result i64)
        (i64.add (i64.extend_i32_s (i32.add (i32.trunc_sat_f64_s (local.get 0)) (i32.extend8_s (i32.const 0xff))))
          (i64.extend32_s (i64.const 0x80000000)))))`);
    const out = instrument(original);
    assert.ok(valid(out.bytes));
    const run = (bytes: Uint8Array): unknown[] => {
      const g = instantiate(bytes, bytes === original ? undefined : deadline(60_000).check);
      return [g.simd!(1000), g.multi!(4), g.bulk!(), g.refs!('host'), g.conv!(1e20)];
    };
    const expected = run(original);
    assert.deepEqual(expected.slice(1), [(10 - 4) * 3, 8 + 7 + 5 + 2 + 21, 7, 2147483646n - 2147483648n]);
    assert.deepEqual(run(out.bytes), expected);
  });

  it('instruments atomics on a shared memory and multi-memory accesses', async () => {
    const atomics = shareMemory(
      await wat(`(module
      (memory 1 1)
      (func (export "atomics") (result i32)
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 5)))
        (atomic.fence)
        (drop (i64.atomic.rmw.cmpxchg (i32.const 8) (i64.const 0) (i64.const 9)))
        (i32.store (i32.const 16) (i32.wrap_i64 (i64.atomic.load (i32.const 8))))
        (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (i32.add (i32.atomic.load (i32.const 0)) (i32.load (i32.const 16)))))`),
    );
    assert.equal(instantiate(instrument(atomics).bytes, deadline(60_000).check).atomics!(), 14);

    // Two memories: the memarg alignment's bit 6 says a memory index follows (wabt cannot write it).
    const body = [
      ...[0x00, 0x41, 0x04, 0x41, 0x09, 0x36, 0x42, 0x01, 0x00], // i32.store (memory 1) 4 <- 9
      ...[0x41, 0x04, 0x28, 0x42, 0x01, 0x00, 0x41, 0x0a, 0x6c], // i32.load (memory 1) 4, * 10
      ...[0x41, 0x04, 0x28, 0x02, 0x00, 0x6a, 0x0b], // + i32.load (memory 0) 4
    ];
    const multiMemory = Uint8Array.from([
      ...HEADER,
      ...section(1, 0x01, 0x60, 0x00, 0x01, 0x7f),
      ...section(3, 0x01, 0x00),
      ...section(5, 0x02, 0x00, 0x01, 0x00, 0x01),
      ...section(7, 0x01, 0x01, 0x66, 0x00, 0x00),
      ...section(10, 0x01, ...leb(body.length), ...body),
    ]);
    assert.equal(instantiate(multiMemory).f!(), 90);
    assert.equal(instantiate(instrument(multiMemory).bytes, deadline(60_000).check).f!(), 90);
  });

  it('puts a checkpoint before every bulk operation and memory.grow', async () => {
    const bulk = await wat(`(module (memory 1) (table 1 funcref) (data "x") (elem func)
      (func
        (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
        (memory.copy (i32.const 0) (i32.const 0) (i32.const 1))
        (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))
        (drop (memory.grow (i32.const 0)))
        (table.copy (i32.const 0) (i32.const 0) (i32.const 0))
        (table.init 0 (i32.const 0) (i32.const 0) (i32.const 0))
        (drop (table.grow (ref.null func) (i32.const 0)))
        (table.fill (i32.const 0) (ref.null func) (i32.const 0))
        (data.drop 0) (elem.drop 0) (drop (table.size)) (drop (memory.size))))`);
    const out = instrument(bulk);
    assert.equal(out.checkpoints, 1 + 8);
    assert.ok(valid(out.bytes));
  });

  it('keeps the instrumentation out of the guest: reserved names and foreign indices are refused', async () => {
    assert.match(refusal(await wat('(module (func (export "__wasmfleet_start")))')), /__wasmfleet_start/);
    assert.match(
      refusal(await wat('(module (table (export "__wasmfleet_deadline") 1 funcref))')),
      /__wasmfleet_deadline/,
    );
    // Invalid modules naming the index the rewriter would give its own global or table.
    assert.match(refusal(oneFunction([0x41, 0x00, 0x24, 0x00])), /global 0/); // global.set 0
    assert.match(refusal(oneFunction([0x41, 0x00, 0x11, 0x00, 0x00])), /table 0/); // call_indirect
  });

  it('refuses exception handling, GC, typed references, atomic wait, memory64 and unknown opcodes with a reason', async () => {
    const eh = { exceptions: true };
    assert.match(
      refusal(await wat('(module (func) (func (try (do nop) (catch_all)))) ', eh)),
      /^exception handling \(try at function 1\)$/,
    );
    assert.match(
      refusal(await wat('(module (tag $t) (func (try (do (throw $t)) (catch $t))))', eh)),
      /exception handling \(tag section\)/,
    );
    assert.match(refusal(oneFunction([0x08, 0x00])), /exception handling \(throw at function 0\)/);
    assert.match(refusal(oneFunction([0x1f, 0x40, 0x00, 0x0b])), /exception handling \(try_table/);
    assert.match(refusal(oneFunction([0x06, 0x40, 0x0b])), /exception handling \(try/);
    assert.match(refusal(oneFunction([0xfb, 0x00])), /GC/);
    assert.match(refusal(oneFunction([0x14, 0x00])), /call_ref at function 0/);
    assert.match(refusal(oneFunction([0xd0, 0x00, 0xd4, 0x1a])), /typed|GC/);
    assert.match(refusal(oneFunction([0x27])), /unknown opcode 0x27 at function 0/);
    assert.match(refusal(oneFunction([0xfd, 0x9a, 0x01])), /unknown opcode 0xfd 0x9a/);
    assert.match(refusal(oneFunction([0xfc, 0x12])), /unknown opcode 0xfc 18/);
    assert.match(
      refusal(
        shareMemory(
          await wat(
            '(module (memory 1 1) (func (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))',
          ),
        ),
      ),
      /atomic wait/,
    );
    assert.match(refusal(oneFunction([], section(5, 0x01, 0x04, 0x01))), /memory64/);
    const gcType = Uint8Array.from([...HEADER, ...section(1, 0x01, 0x5f, 0x00)]);
    assert.match(refusal(gcType), /GC types \(type 0 is a struct type\)/);
  });

  it('refuses components, truncated and malformed bytes without throwing', async () => {
    assert.match(refusal(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])), /component/);
    assert.match(refusal(await hostile('invalid-bytes')), /malformed/);
    assert.match(refusal(new Uint8Array([1, 2, 3])), /malformed/);
    const whole = await fixture('healthy/features.wat');
    let refused = 0;
    for (let n = 0; n < whole.length; n++) {
      const prefix = whole.subarray(0, n);
      const result = instrumentDeadlines(prefix);
      if (result.ok) assert.equal(valid(result.bytes), valid(prefix), `prefix of ${n} bytes`);
      else refused++;
    }
    assert.ok(refused > whole.length * 0.9, `${refused} of ${whole.length} prefixes refused`);
  });

  it('fuzz: fixtures and their mutations never throw; what it accepts validates exactly when the input does', async () => {
    const corpus = await allFixtures();
    assert.ok(corpus.length >= 10);
    for (const { name, bytes } of corpus) {
      const result = instrumentDeadlines(bytes);
      if (result.ok) assert.equal(valid(result.bytes), true, name);
      else assert.ok(result.reason.length > 0, name);
    }
    // Deterministic mutations: flipped bits, overwritten bytes, cuts and splices.
    let seed = 0x5eed;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return (seed >>> 8) % n;
    };
    let accepted = 0;
    let total = 0;
    for (const { name, bytes } of corpus) {
      for (let i = 0; i < 150; i++) {
        const m = Uint8Array.from(bytes);
        const edits = 1 + random(3);
        for (let e = 0; e < edits; e++) {
          const at = 8 + random(Math.max(1, m.length - 8));
          if (random(2) === 0) m[at] = m[at]! ^ (1 << random(8));
          else m[at] = random(256);
        }
        const mutated = random(4) === 0 ? m.subarray(0, 8 + random(m.length - 8)) : m;
        total++;
        let result;
        try {
          result = instrumentDeadlines(mutated);
        } catch (error) {
          assert.fail(`${name} mutation ${i} threw: ${String(error)}`);
        }
        if (!result.ok) continue;
        accepted++;
        assert.equal(valid(result.bytes), valid(mutated), `${name} mutation ${i}`);
      }
    }
    assert.ok(accepted > 0 && accepted < total, `${accepted} of ${total} mutations accepted`);
  });

  it('instruments a 1 MB module of loops and calls (and reports how long it took)', (t) => {
    // 1,000 functions of ~1 KB: loops, loads, stores, calls and arithmetic.
    const loopBody = [0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00, 0x41, 0x08, 0x28, 0x02, 0x04, 0x1a];
    const body: number[] = [0x01, 0x01, 0x7f]; // one i32 local
    for (let k = 0; k < 7; k++) {
      body.push(0x02, 0x40, 0x03, 0x40); // block loop
      for (let j = 0; j < 10; j++) body.push(...loopBody);
      body.push(0x20, 0x01, 0x41, 0x10, 0x49, 0x0d, 0x00, 0x0b, 0x0b); // br_if 0 (i32.lt_u local1 16)
    }
    body.push(0x20, 0x00, 0x10, 0x00, 0x0b); // call 0 (local.get 0) — recursion, never run
    const functions = 1000;
    const codeBody: number[] = [...leb(functions)];
    for (let f = 0; f < functions; f++) codeBody.push(...leb(body.length), ...body);
    const big = Uint8Array.from([
      ...HEADER,
      ...section(1, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f),
      ...section(3, ...leb(functions), ...new Array<number>(functions).fill(0)),
      ...section(5, 0x01, 0x00, 0x01),
      ...[0x0a, ...leb(codeBody.length)],
      ...codeBody,
    ]);
    assert.ok(big.length > 1_000_000 && valid(big));
    let started = performance.now();
    const first = instrument(big);
    const cold = performance.now() - started;
    started = performance.now();
    const runs = 5;
    for (let i = 0; i < runs; i++) instrument(big);
    const warm = (performance.now() - started) / runs;
    t.diagnostic(`${big.length} bytes: first run ${cold.toFixed(1)} ms, then ${warm.toFixed(1)} ms`);
    assert.equal(first.checkpoints, functions * 8);
    assert.ok(valid(first.bytes));
  });

  it('instruments real compiler output from the workload builds', async (t) => {
    const examples = fileURLToPath(new URL('../../../workloads/examples/', import.meta.url));
    const files: string[] = [];
    for await (const f of glob('*/build/*.wasm', { cwd: examples })) files.push(f);
    // bash scripts/test builds them first; run `npm run build:workloads` when testing alone.
    assert.ok(files.length > 0, 'no workload builds: run `npm run build:workloads` first');
    for (const file of files.sort()) {
      const bytes = new Uint8Array(await readFile(path.join(examples, file)));
      const started = performance.now();
      const result = instrumentDeadlines(bytes);
      const ms = performance.now() - started;
      if (result.ok) {
        assert.ok(valid(result.bytes), file);
        t.diagnostic(
          `${file}: ${bytes.length} bytes, ${result.checkpoints} checkpoints, ${ms.toFixed(1)} ms`,
        );
      } else {
        assert.match(result.reason, /component/, file); // the only refusal expected here
        t.diagnostic(`${file}: refused (${result.reason})`);
      }
    }
  });

  it('createDeadlineCheck wraps a JS function so a funcref table accepts it', () => {
    let called = 0;
    const fn = createDeadlineCheck(() => {
      called++;
    });
    const table = new WebAssembly.Table({ element: 'anyfunc', initial: 1 });
    table.set(0, fn);
    (table.get(0) as () => void)();
    assert.equal(called, 1);
    assert.throws(
      () => installDeadlineCheck(new WebAssembly.Instance(new WebAssembly.Module(oneFunction([]))), () => {}),
      /not instrumented/,
    );
  });
});
