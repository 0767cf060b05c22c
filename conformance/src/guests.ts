// SPDX-License-Identifier: Apache-2.0
// The guest modules the checks run, written from docs/guest-abi.md alone (core-module ABI, import
// module wasmfleet_v1) and assembled with wabt, the reference assembler. `probe` exercises every
// host import, chosen by the first byte of its input; the others each misbehave in one way.
import wabtInit from 'wabt';

/** The input buffer lives at 1024 and grows on demand (calls never overlap). */
const ALLOC = `
  (func (export "wf_alloc") (param $size i32) (result i32)
    (local $missing i32)
    (local.set $missing
      (i32.sub
        (i32.shr_u (i32.add (i32.add (i32.const 1024) (local.get $size)) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $missing) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $missing)) (i32.const -1)) (then (return (i32.const 0))))))
    (i32.const 1024))`;

/**
 * First input byte → behaviour (anything else: echo the input to the first output):
 *   c  emit config GREETING           s  add 1 to state "n" (u32 LE) and emit it
 *   t  emit the input's topic          l  log "hello from guest" at info, then echo
 *   e  fail with set_error "bad input" p  emit the input, then trap (nothing may come out)
 *   u  emit to the undeclared topic "nope", then emit emit's return code (i32 LE)
 *   w  busy-wait the decimal milliseconds that follow (`w40:anything`, by now_ms), then echo
 *   x  add 1 to state "n", then trap (state_set calls of a failed call stand: guest-abi.md)
 */
const PROBE = `(module
  (import "wasmfleet_v1" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (import "wasmfleet_v1" "log" (func $log (param i32 i32 i32)))
  (import "wasmfleet_v1" "config_get" (func $config_get (param i32 i32 i32 i32) (result i32)))
  (import "wasmfleet_v1" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "wasmfleet_v1" "state_set" (func $state_set (param i32 i32 i32 i32) (result i32)))
  (import "wasmfleet_v1" "input_topic" (func $input_topic (param i32 i32) (result i32)))
  (import "wasmfleet_v1" "set_error" (func $set_error (param i32 i32)))
  (import "wasmfleet_v1" "now_ms" (func $now_ms (result f64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "GREETING")
  (data (i32.const 16) "n")
  (data (i32.const 32) "hello from guest")
  (data (i32.const 80) "bad input")
  (data (i32.const 96) "nope")
  ${ALLOC}
  (func $echo (param $ptr i32) (param $len i32) (result i32)
    (drop (call $emit (i32.const 0) (i32.const 0) (local.get $ptr) (local.get $len)))
    (i32.const 0))
  (func (export "wf_handle") (param $ptr i32) (param $len i32) (result i32)
    (local $op i32) (local $n i32) (local $i i32) (local $until f64)
    (if (i32.eqz (local.get $len)) (then (return (call $echo (local.get $ptr) (i32.const 0)))))
    (local.set $op (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $op) (i32.const 99)) ;; c
      (then
        (local.set $n (call $config_get (i32.const 0) (i32.const 8) (i32.const 256) (i32.const 256)))
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (local.set $n (i32.const 0))))
        (return (call $echo (i32.const 256) (local.get $n)))))
    (if (i32.eq (local.get $op) (i32.const 115)) ;; s
      (then
        (i32.store (i32.const 256) (i32.const 0))
        (drop (call $state_get (i32.const 16) (i32.const 1) (i32.const 256) (i32.const 4)))
        (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
        (drop (call $state_set (i32.const 16) (i32.const 1) (i32.const 256) (i32.const 4)))
        (return (call $echo (i32.const 256) (i32.const 4)))))
    (if (i32.eq (local.get $op) (i32.const 120)) ;; x
      (then
        (i32.store (i32.const 256) (i32.const 0))
        (drop (call $state_get (i32.const 16) (i32.const 1) (i32.const 256) (i32.const 4)))
        (i32.store (i32.const 256) (i32.add (i32.load (i32.const 256)) (i32.const 1)))
        (drop (call $state_set (i32.const 16) (i32.const 1) (i32.const 256) (i32.const 4)))
        (unreachable)))
    (if (i32.eq (local.get $op) (i32.const 116)) ;; t
      (then (return (call $echo (i32.const 256) (call $input_topic (i32.const 256) (i32.const 512))))))
    (if (i32.eq (local.get $op) (i32.const 108)) ;; l
      (then (call $log (i32.const 1) (i32.const 32) (i32.const 16))))
    (if (i32.eq (local.get $op) (i32.const 101)) ;; e
      (then (call $set_error (i32.const 80) (i32.const 9)) (return (i32.const 1))))
    (if (i32.eq (local.get $op) (i32.const 112)) ;; p
      (then (drop (call $echo (local.get $ptr) (local.get $len))) (unreachable)))
    (if (i32.eq (local.get $op) (i32.const 117)) ;; u
      (then
        (i32.store (i32.const 256) (call $emit (i32.const 96) (i32.const 4) (local.get $ptr) (local.get $len)))
        (return (call $echo (i32.const 256) (i32.const 4)))))
    (if (i32.eq (local.get $op) (i32.const 119)) ;; w
      (then
        (local.set $i (i32.const 1))
        (block $done
          (loop $digits
            (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
            (br_if $done (i32.gt_u (i32.sub (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 48)) (i32.const 9)))
            (local.set $n
              (i32.add (i32.mul (local.get $n) (i32.const 10))
                (i32.sub (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 48))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $digits)))
        (local.set $until (f64.add (call $now_ms) (f64.convert_i32_u (local.get $n))))
        (loop $spin (br_if $spin (f64.lt (call $now_ms) (local.get $until))))))
    (call $echo (local.get $ptr) (local.get $len)))
)`;

const HOSTILE = {
  /** Never returns: the call must be stopped at its deadline. */
  loopForever: `(module (memory (export "memory") 1) ${ALLOC}
    (func (export "wf_handle") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0)))`,
  /** Grows its memory until refused, then traps: the cap holds, the call fails. */
  growBomb: `(module (memory (export "memory") 1) ${ALLOC}
    (func (export "wf_handle") (param i32 i32) (result i32)
      (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      (unreachable)))`,
  /** Asks for 256 MiB of initial memory: more than its 16 MiB limit. */
  hugeInitialMemory: `(module (memory (export "memory") 4096) ${ALLOC}
    (func (export "wf_handle") (param i32 i32) (result i32) (i32.const 0)))`,
  trap: `(module (memory (export "memory") 1) ${ALLOC}
    (func (export "wf_handle") (param i32 i32) (result i32) (unreachable)))`,
  missingImport: `(module (import "wasmfleet_v1" "no_such_import" (func))
    (memory (export "memory") 1) ${ALLOC}
    (func (export "wf_handle") (param i32 i32) (result i32) (i32.const 0)))`,
  missingExport: `(module (memory (export "memory") 1) ${ALLOC})`,
} as const;

export interface Guests {
  readonly probe: Uint8Array;
  readonly loopForever: Uint8Array;
  readonly growBomb: Uint8Array;
  readonly hugeInitialMemory: Uint8Array;
  readonly trap: Uint8Array;
  readonly missingImport: Uint8Array;
  readonly missingExport: Uint8Array;
  /** Starts like a module and then is not one. */
  readonly invalid: Uint8Array;
}

export async function assembleGuests(): Promise<Guests> {
  const wabt = await wabtInit();
  const assemble = (name: string, text: string): Uint8Array => {
    const module = wabt.parseWat(`${name}.wat`, text);
    try {
      module.validate();
      return module.toBinary({}).buffer.slice();
    } finally {
      module.destroy();
    }
  };
  const probe = assemble('probe', PROBE);
  const hostile = Object.fromEntries(
    Object.entries(HOSTILE).map(([name, text]) => [name, assemble(name, text)]),
  ) as Record<keyof typeof HOSTILE, Uint8Array>;
  const invalid = Buffer.concat([
    Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    Buffer.from('not a module'),
  ]);
  return { probe, ...hostile, invalid };
}

/** A copy of the probe that is a different module (another digest) doing the same. */
export function variant(bytes: Uint8Array, tag: string): Uint8Array {
  // A custom section (id 0) named by the tag: ignored by engines, changes the digest.
  const name = Buffer.from(tag);
  return Buffer.concat([Buffer.from(bytes), Buffer.from([0, name.length + 1, name.length]), name]);
}
