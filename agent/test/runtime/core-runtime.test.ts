// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LoadOptions, type LogLevel } from '../../src/index.ts';
import { fixture } from '../helpers/wasm.ts';
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
  });
