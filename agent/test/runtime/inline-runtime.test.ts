// SPDX-License-Identifier: Apache-2.0
// Where a core module runs (ADR 0018): on the agent's own thread when its calls can be stopped at
// a short deadline, in a worker of its own otherwise — and a function that overruns on the
// agent's thread moves into a worker after that one overrun. Threads are what a device owner
// sees (each worker costs ~9 MB), so that is what these tests count.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { LoadOptions, LogLevel } from '../../src/index.ts';
import { failure, load, send, texts } from '../helpers/functions.ts';
import { fixture, hostile, watToWasm } from '../helpers/wasm.ts';

const fast = { memoryBytes: 16 * 1024 * 1024, timeoutMs: 50 };

/** Threads of this process (Linux), which grows by one per function worker. */
function threads(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Threads:'));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN);
}

/** Waits for a started or stopped worker thread to show in (or leave) /proc. */
async function settledThreads(): Promise<number> {
  await new Promise((r) => setTimeout(r, 200));
  return threads();
}

function logged(): { lines: string[]; log: (level: LogLevel, text: string) => void } {
  const lines: string[] = [];
  return { lines, log: (level, text) => lines.push(`${level}: ${text}`) };
}

describe("core modules on the agent's thread", () => {
  it('twenty functions with short deadlines start no thread and each answers', async () => {
    const echo = await fixture('healthy/echo.wat');
    const before = await settledThreads();
    const fns = await Promise.all(Array.from({ length: 20 }, () => load(echo, { limits: fast })));
    try {
      assert.equal(await settledThreads(), before, 'no worker thread was started');
      for (const [i, fn] of fns.entries()) assert.deepEqual(texts(await send(fn, `m${i}`)), [`m${i}`]);
    } finally {
      await Promise.all(fns.map((f) => f.close()));
    }
  });

  it('a deadline above 100 ms, or --isolation worker, gives the function its own thread', async () => {
    const echo = await fixture('healthy/echo.wat');
    const before = await settledThreads();
    const slow = await load(echo, { limits: { ...fast, timeoutMs: 500 } });
    const isolated = await load(echo, { limits: fast, isolation: 'worker' });
    try {
      assert.equal(await settledThreads(), before + 2);
      assert.deepEqual(texts(await send(slow, 'a')), ['a']);
      assert.deepEqual(texts(await send(isolated, 'b')), ['b']);
    } finally {
      await Promise.all([slow.close(), isolated.close()]);
    }
  });

  it('an infinite loop is stopped at its deadline, then the function moves to a worker and is stopped there too', async () => {
    const { lines, log } = logged();
    const fn = await load(await hostile('loop-forever'), { limits: fast, log });
    const before = await settledThreads();
    try {
      assert.equal(fn.thread, 'agent');
      const first = failure(await send(fn, 'x'));
      assert.equal(first.reason, 'Timeout');
      assert.match(first.message, /50 ms deadline/);
      assert.ok(
        lines.some((l) =>
          /overran its 50 ms deadline on the agent's thread; the function runs in its own worker/.test(l),
        ),
        lines.join('\n'),
      );
      assert.equal(failure(await send(fn, 'y')).reason, 'Timeout');
      assert.equal(fn.thread, 'worker');
      assert.ok((await settledThreads()) >= before + 1, 'the function now has a worker');
    } finally {
      await fn.close();
    }
  });

  it('a call that holds the thread longer than 10 ms (within its deadline) is answered, then the function moves to a worker', async () => {
    const { lines, log } = logged();
    const fn = await load(await fixture('healthy/spin-echo.wat'), { limits: fast, log });
    const before = await settledThreads();
    const spin = new Uint8Array(4);
    // Enough iterations for ~15–40 ms on a quiet machine: past 10 ms, usually within 50 ms.
    new DataView(spin.buffer).setUint32(0, 25_000_000, true);
    try {
      // The first calls compile the guest's code and may be slow for that alone: they are exempt.
      for (let i = 0; i < 3; i++) assert.ok((await send(fn, new Uint8Array(4))).ok);
      assert.equal(fn.thread, 'agent');
      // The first slow call may only have been preempted: the next one is timed by the thread's
      // CPU, and a function that really holds the thread moves then.
      for (let i = 0; i < 2; i++) {
        const r = await send(fn, spin);
        // A slow machine may take the whole deadline: then it is a Timeout, and moves at once.
        assert.ok(r.ok || r.reason === 'Timeout', JSON.stringify(r));
      }
      assert.ok(
        lines.some((l) =>
          /(held the agent's thread for [\d.]+ ms of CPU and sleep \(more than 10 ms\)|overran its 50 ms deadline on the agent's thread); the function runs in its own worker/.test(
            l,
          ),
        ),
        lines.join('\n'),
      );
      assert.deepEqual(texts(await send(fn, new Uint8Array(4))), ['\0\0\0\0']);
      assert.equal(await settledThreads(), before + 1);
    } finally {
      await fn.close();
    }
  });

  it('a call slow only because the thread was held up elsewhere (preempted) leaves the function on the agent thread', async () => {
    // Regression: on a loaded 2-core machine the OS preempted the agent mid-call now and then,
    // a 2 µs call "took" over 10 ms, and the function moved to a worker for good, about doubling
    // its CPU per message. Here the state store blocks the thread for 30 ms without using CPU,
    // as a preemption would, during one call.
    const { lines, log } = logged();
    const map = new Map<string, Uint8Array>();
    let stallMs = 0;
    const state = {
      get: (key: string) => {
        if (stallMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stallMs);
        return map.get(key);
      },
      set: (key: string, value: Uint8Array) => (map.set(key, value), true),
    };
    const fn = await load(await fixture('healthy/features.wat'), { limits: fast, log, state });
    try {
      for (let i = 0; i < 3; i++) assert.ok((await send(fn, 's')).ok); // the warm-up calls
      stallMs = 30;
      assert.ok((await send(fn, 's')).ok);
      stallMs = 0;
      for (let i = 0; i < 10; i++) assert.ok((await send(fn, 's')).ok);
      assert.equal(fn.thread, 'agent', lines.join('\n'));
      assert.ok(!lines.some((l) => /own worker/.test(l)), lines.join('\n'));
      assert.equal(Buffer.from(map.get('n') ?? []).readUInt32LE(0), 14, 'every call counted once');
    } finally {
      await fn.close();
    }
  });

  it("recursion deeper than the agent thread's stack allows runs again in a worker, whose stack is 4 MB", async () => {
    const recursive = await watToWasm(`(module
      (import "wasmfleet_v1" "emit" (func $emit (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func $rec (param $n i32) (result i32)
        (local $a i64) (local $b i64) (local $c i64) (local $d i64)
        (if (result i32) (i32.eqz (local.get $n))
          (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get $n) (i32.const 1)))))))
      (func (export "wf_alloc") (param i32) (result i32) (i32.const 1024))
      (func (export "wf_handle") (param $p i32) (param $l i32) (result i32)
        (drop (call $rec (i32.load (local.get $p))))
        (drop (call $emit (i32.const 0) (i32.const 0) (local.get $p) (local.get $l)))
        (i32.const 0)))`);
    const { lines, log } = logged();
    const fn = await load(recursive, { limits: fast, log });
    const depth = new Uint8Array(4);
    new DataView(depth.buffer).setUint32(0, 40_000, true); // overflows ~1 MB here, fits in 4 MB
    try {
      const r = await send(fn, depth);
      assert.ok(r.ok, `the call failed: ${JSON.stringify(r)}`);
      assert.equal(r.outputs.length, 1, 'published once, not once per attempt');
      assert.ok(
        lines.some((l) => /ran out of the agent's thread's stack/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await fn.close();
    }
  });

  it('a WASI sleep past the deadline ends in Timeout at the deadline, not after the sleep', async () => {
    // poll_oneoff with one relative clock subscription of 10 s (48-byte subscription at 0).
    const sleeper = await watToWasm(`(module
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "wf_alloc") (param i32) (result i32) (i32.const 1024))
      (func (export "wf_handle") (param i32 i32) (result i32)
        (i32.store8 (i32.const 8) (i32.const 0))
        (i32.store (i32.const 16) (i32.const 1))
        (i64.store (i32.const 24) (i64.const 10000000000))
        (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
        (i32.const 0)))`);
    const fn = await load(sleeper, { limits: fast });
    try {
      const started = performance.now();
      const r = failure(await send(fn, 'z'));
      assert.equal(r.reason, 'Timeout');
      assert.ok(performance.now() - started < 5_000, 'the agent waited out the guest sleep');
    } finally {
      await fn.close();
    }
  });

  it('a runaway call in a batch fails alone: the inputs after it are answered by the worker', async () => {
    const spin = await fixture('healthy/spin-echo.wat');
    const fn = await load(spin, { limits: fast });
    const spinFor = (iterations: number): Uint8Array => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, iterations, true);
      return b;
    };
    try {
      const batch = (
        fn as unknown as {
          invokeBatch(i: { topic: string; payload: Uint8Array; timestampMs: number }[]): unknown;
        }
      ).invokeBatch([
        { topic: 't', payload: spinFor(10), timestampMs: 0 },
        { topic: 't', payload: spinFor(0xffffffff), timestampMs: 0 },
        { topic: 't', payload: spinFor(20), timestampMs: 0 },
      ]);
      const answers = (await batch) as { ok: boolean; reason?: string }[];
      assert.deepEqual(
        answers.map((a) => (a.ok ? 'ok' : a.reason)),
        ['ok', 'Timeout', 'ok'],
      );
    } finally {
      await fn.close();
    }
  });

  it('a module the rewriter cannot make interruptible runs in a worker, and says why', async () => {
    // Exception handling: a guest could catch the deadline and loop on.
    const eh = await watToWasm(
      `(module
        (tag $e)
        (memory (export "memory") 1)
        (func (export "wf_alloc") (param i32) (result i32) (i32.const 1024))
        (func (export "wf_handle") (param i32 i32) (result i32)
          (try (do (throw $e)) (catch_all))
          (i32.const 0)))`,
      'eh.wat',
      { exceptions: true },
    );
    const { lines, log } = logged();
    const before = await settledThreads();
    const fn = await load(eh, { limits: fast, log });
    try {
      assert.deepEqual(texts(await send(fn, 'z')), []);
      assert.equal(await settledThreads(), before + 1);
      assert.ok(
        lines.some((l) => /runs in its own worker thread: .*exception/i.test(l)),
        lines.join('\n'),
      );
    } finally {
      await fn.close();
    }
  });

  /** A function whose wf_init or start section spins for a few hundred milliseconds. */
  const slowStarter = (entry: 'wf_init' | 'start') =>
    watToWasm(`(module
      (memory (export "memory") 1)
      (func $spin (result i32)
        (local $i i32)
        (local.set $i (i32.const 300000000))
        (loop $spin
          (i32.store (i32.const 0) (local.get $i))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br_if $spin (local.get $i)))
        (i32.const 0))
      ${entry === 'wf_init' ? '(export "wf_init" (func $spin))' : '(func $start (drop (call $spin))) (start $start)'}
      (func (export "wf_alloc") (param i32) (result i32) (i32.const 1024))
      (func (export "wf_handle") (param i32 i32) (result i32) (i32.const 0)))`);

  for (const entry of ['wf_init', 'start'] as const) {
    it(`a ${entry} slower than the call deadline starts in a worker with the full init allowance`, async () => {
      const { lines, log } = logged();
      const options: Partial<LoadOptions> = { limits: fast, log };
      const before = await settledThreads();
      const fn = await load(await slowStarter(entry), options);
      try {
        assert.ok(
          lines.some((l) => /start code took longer than the 50 ms call deadline/.test(l)),
          lines.join('\n'),
        );
        assert.ok((await send(fn, 'q')).ok);
        assert.equal(await settledThreads(), before + 1);
      } finally {
        await fn.close();
      }
    });
  }
});

describe("a long batch on the agent's thread", () => {
  it('yields to the event loop between slices and keeps later batches in order', async () => {
    const fn = await load(await fixture('healthy/spin-echo.wat'), { limits: fast });
    const spinFor = (iterations: number, tag: number): Uint8Array => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(0, iterations, true);
      new DataView(b.buffer).setUint32(4, tag, true);
      return b;
    };
    type Batching = {
      invokeBatch(i: { topic: string; payload: Uint8Array; timestampMs: number }[]): unknown;
    };
    // About a millisecond per input: forty of them are far more than one slice.
    const slow = Array.from({ length: 40 }, (_, i) => ({
      topic: 't',
      payload: spinFor(1_000_000, i),
      timestampMs: 0,
    }));
    const quick = [{ topic: 't', payload: spinFor(0, 99), timestampMs: 0 }];
    try {
      let turned = false;
      setImmediate(() => (turned = true));
      const first = (fn as unknown as Batching).invokeBatch(slow);
      assert.ok(first instanceof Promise, 'a batch longer than a slice finishes asynchronously');
      const second = (fn as unknown as Batching).invokeBatch(quick);
      assert.ok(second instanceof Promise, 'a batch behind a sliced one waits for it');
      const order: string[] = [];
      const [a, b] = await Promise.all([
        (first as Promise<{ ok: boolean }[]>).then((r) => (order.push('first'), r)),
        (second as Promise<{ ok: boolean }[]>).then((r) => (order.push('second'), r)),
      ]);
      assert.ok(turned, 'the event loop turned while the batch ran');
      assert.deepEqual(order, ['first', 'second']);
      assert.equal(a.length, 40);
      assert.equal(b.length, 1);
      // A deadline is wall-clock time (guest ABI). In a cold CI run at load 18 one ~1 ms call was
      // preempted past its 50 ms deadline and answered Timeout, which is the documented answer;
      // this test is about slicing and order, so that answer is allowed and every other is not.
      const unexpected = [...a, ...b].filter((r) => !r.ok && (r as { reason?: string }).reason !== 'Timeout');
      assert.deepEqual(unexpected, []);
    } finally {
      await fn.close();
    }
  });
});
