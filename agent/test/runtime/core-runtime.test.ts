// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LoadOptions, type LogLevel } from '../../src/index.ts';
import { fixture, watToWasm } from '../helpers/wasm.ts';
import { failure, load as loadWith, memoryState, send, texts } from '../helpers/functions.ts';

// Every behaviour holds wherever a core module runs: in a worker of its own, or on the agent's
// thread made interruptible (ADR 0018; 'auto' picks it for deadlines up to 100 ms).
const MODES = [
  { name: 'in a worker', isolation: 'worker', limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 200 } },
  {
    name: "on the agent's thread",
    isolation: 'auto',
    limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 100 },
  },
] as const;

for (const mode of MODES)
  describe(`core-module runtime, ${mode.name}`, () => {
    const load = (bytes: Uint8Array, overrides: Partial<LoadOptions> = {}) =>
      loadWith(bytes, { isolation: mode.isolation, limits: mode.limits, ...overrides });

    it('publishes what an echo function emits, to the first declared output', async () => {
      const fn = await load(await fixture('healthy/echo.wat'));
      try {
        assert.equal(fn.kind, 'core');
        const result = await send(fn, '21.5');
        assert.ok(result.ok);
        assert.deepEqual(
          result.outputs.map((o) => o.topic),
          ['out/1'],
        );
        assert.deepEqual(texts(result), ['21.5']);
        // Larger than the initial 64 KiB channel and the module's first page: both grow.
        const big = new Uint8Array(200_000).fill(7);
        const second = await send(fn, big);
        assert.ok(second.ok);
        assert.deepEqual(Uint8Array.from(second.outputs[0]?.payload ?? []), big);
      } finally {
        await fn.close();
      }
    });

    it('handles thousands of messages in a row in order', async () => {
      const fn = await load(await fixture('healthy/echo.wat'));
      try {
        const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => send(fn, String(i))));
        assert.deepEqual(
          results.map((r) => texts(r)[0]),
          Array.from({ length: 5000 }, (_, i) => String(i)),
        );
      } finally {
        await fn.close();
      }
    });

    it('gives the guest its config, its input topic and persistent state', async () => {
      const state = memoryState();
      const fn = await load(await fixture('healthy/features.wat'), { config: { GREETING: 'grüezi' }, state });
      try {
        assert.deepEqual(texts(await send(fn, 'c')), ['grüezi']);
        assert.deepEqual(texts(await send(fn, 't', 'sensors/pump-7/flow')), ['sensors/pump-7/flow']);
        const counts = [];
        for (let i = 0; i < 3; i++) {
          const r = await send(fn, 's');
          assert.ok(r.ok);
          counts.push(Buffer.from(r.outputs[0]!.payload).readUInt32LE(0));
        }
        assert.deepEqual(counts, [1, 2, 3]);
        assert.deepEqual(state.map.get('n'), new Uint8Array([3, 0, 0, 0]));
      } finally {
        await fn.close();
      }
    });

    it('sends guest log lines and WASI stdout to the function log', async () => {
      const lines: [LogLevel, string][] = [];
      const fn = await load(await fixture('healthy/features.wat'), {
        log: (level, text) => lines.push([level, text]),
      });
      try {
        assert.ok((await send(fn, 'l')).ok);
        assert.deepEqual(lines, [
          ['info', 'hello from guest'],
          ['info', 'stdout line'],
        ]);
      } finally {
        await fn.close();
      }
    });

    it('reports a guest error with the text the guest set', async () => {
      const fn = await load(await fixture('healthy/features.wat'));
      try {
        assert.deepEqual(await send(fn, 'e'), { ok: false, reason: 'GuestError', message: 'bad input' });
        const exit = failure(await send(fn, 'x'));
        assert.equal(exit.reason, 'GuestError');
        assert.match(exit.message, /proc_exit\(3\)/);
      } finally {
        await fn.close();
      }
    });

    it('refuses outputs to undeclared topics and routes declared ones', async () => {
      const fn = await load(await fixture('healthy/features.wat'));
      try {
        const r = await send(fn, 'u');
        assert.ok(r.ok);
        assert.equal(r.outputs.length, 1, 'the undeclared emit is not published');
        assert.equal(Buffer.from(r.outputs[0]!.payload).readInt32LE(0), -1);
        const second = await send(fn, '2-payload');
        assert.ok(second.ok);
        assert.deepEqual(
          second.outputs.map((o) => o.topic),
          ['out/2'],
        );
      } finally {
        await fn.close();
      }
    });

    it('publishes nothing from a call that emits and then traps', async () => {
      const fn = await load(await fixture('healthy/features.wat'));
      try {
        assert.equal(failure(await send(fn, 'p')).reason, 'Trap');
        assert.deepEqual(texts(await send(fn, 'c')), [''], 'the next call starts clean');
      } finally {
        await fn.close();
      }
    });

    it('loads a cached module again without recompiling it', async () => {
      const bytes = await fixture('healthy/echo.wat');
      const first = await load(bytes);
      const second = await load(bytes);
      try {
        assert.deepEqual(texts(await send(second, 'again')), ['again']);
        assert.deepEqual(texts(await send(first, 'first')), ['first']);
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    });

    // The host matches an emit's topic against the declared outputs byte for byte (no string per
    // emit, docs/adr/0051); what that must not change is which output it names, and that topic
    // bytes naming no output are refused, and traps when they are not UTF-8 (guest-abi.md).
    it('routes an emit by its topic bytes: empty is the first output, a prefix or a longer name is no output, bad UTF-8 traps', async () => {
      const fn = await load(await watToWasm(TOPIC_BYTES_WAT));
      try {
        const topicsOf = async (op: string) => {
          const r = await send(fn, op);
          assert.ok(r.ok, JSON.stringify(r));
          return r.outputs.map((o) => `${o.topic}=${Buffer.from(o.payload).readInt32LE(0)}`);
        };
        // Each op emits, then emits emit's return code to the first output.
        assert.deepEqual(await topicsOf('e'), ['out/1=0', 'out/1=0']);
        assert.deepEqual(await topicsOf('2'), ['out/2=0', 'out/1=0']);
        assert.deepEqual(await topicsOf('p'), ['out/1=-1'], '"out/" names no output');
        assert.deepEqual(await topicsOf('l'), ['out/1=-1'], '"out/22" names no output');
        assert.equal(failure(await send(fn, 'x')).reason, 'Trap', 'topic bytes ff fe are not UTF-8');
      } finally {
        await fn.close();
      }
    });
  });

/** Emits its input to a topic picked by the first byte, then emit's return code (i32) to out/1. */
const TOPIC_BYTES_WAT = `(module
  (import "wasmfleet_v1" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "out/2")
  (data (i32.const 8) "out/22")
  (data (i32.const 16) "\\ff\\fe")
  (func (export "wf_alloc") (param i32) (result i32) (i32.const 1024))
  (func $try (param $topic i32) (param $len i32) (param $ptr i32) (param $n i32)
    (i32.store (i32.const 512) (call $emit (local.get $topic) (local.get $len) (local.get $ptr) (local.get $n)))
    (drop (call $emit (i32.const 0) (i32.const 0) (i32.const 512) (i32.const 4))))
  (func (export "wf_handle") (param $ptr i32) (param $len i32) (result i32)
    (local $op i32)
    (local.set $op (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $op) (i32.const 101)) (then (call $try (i32.const 0) (i32.const 0) (i32.const 512) (i32.const 4)))) ;; e
    (if (i32.eq (local.get $op) (i32.const 50)) (then (call $try (i32.const 0) (i32.const 5) (i32.const 512) (i32.const 4)))) ;; 2
    (if (i32.eq (local.get $op) (i32.const 112)) (then (call $try (i32.const 0) (i32.const 4) (i32.const 512) (i32.const 4)))) ;; p
    (if (i32.eq (local.get $op) (i32.const 108)) (then (call $try (i32.const 8) (i32.const 6) (i32.const 512) (i32.const 4)))) ;; l
    (if (i32.eq (local.get $op) (i32.const 120)) (then (call $try (i32.const 16) (i32.const 2) (i32.const 512) (i32.const 4)))) ;; x
    (i32.const 0)))`;
