// SPDX-License-Identifier: Apache-2.0
// The hostile-module corpus (fixtures/hostile/<problem>): each one must end in a clear reason,
// the agent process stays up, and a healthy function beside it keeps working — both where
// functions run in a worker of their own and where they run on the agent's thread, made
// interruptible (ADR 0018; a runaway there moves into a worker after its first overrun).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LoadError, type FailureReason, type LoadedFunction } from '../../src/index.ts';
import { fixture, hostile, paddedModule } from '../helpers/wasm.ts';
import { failure, load, send, texts } from '../helpers/functions.ts';

let healthy: LoadedFunction;

/** The two places a core module runs; the deadline decides which one 'auto' picks. */
const MODES = [
  { name: 'in a worker of its own', timeoutMs: 200, isolation: 'worker' },
  { name: "on the agent's thread", timeoutMs: 100, isolation: 'auto' },
] as const;
let mode: (typeof MODES)[number] = MODES[0];
const limits = (extra: { maxModuleBytes?: number } = {}) => ({
  memoryBytes: 16 * 1024 * 1024,
  timeoutMs: mode.timeoutMs,
  ...extra,
});

/** Keeps the healthy echo function busy while `during` runs; returns how many calls it served. */
async function healthyCallsDuring<T>(during: Promise<T>): Promise<{ value: T; served: number }> {
  let done = false;
  let served = 0;
  const pump = (async () => {
    while (!done) {
      const r = await send(healthy, `ping-${served}`);
      assert.deepEqual(texts(r), [`ping-${served}`]);
      served++;
      if (served % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const value = await during;
  done = true;
  await pump;
  return { value, served };
}

async function loadFails(bytes: Uint8Array, maxModuleBytes?: number): Promise<LoadError> {
  const error = await load(bytes, {
    isolation: mode.isolation,
    limits: limits(maxModuleBytes ? { maxModuleBytes } : {}),
  }).then(
    async (fn) => {
      await fn.close();
      assert.fail('the module loaded');
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof LoadError, `expected a LoadError, got ${String(error)}`);
  return error;
}

async function failingCall(problem: string): Promise<{ reason: FailureReason; message: string }> {
  const fn = await load(await hostile(problem), { isolation: mode.isolation, limits: limits() });
  try {
    const { value, served } = await healthyCallsDuring(send(fn, 'x'));
    const result = failure(value);
    assert.ok(served > 0, 'the healthy function was served while the hostile one ran');
    // The hostile function itself recovers for the next call (a fresh worker if it was stopped).
    assert.equal(failure(await send(fn, 'y')).reason, result.reason);
    return result;
  } finally {
    await fn.close();
  }
}

for (const m of MODES)
  describe(`hostile modules, ${m.name}`, () => {
    before(async () => {
      mode = m;
      healthy = await load(await fixture('healthy/echo.wat'), { isolation: m.isolation, limits: limits() });
    });
    after(async () => {
      // The healthy neighbour still answers after the whole corpus.
      assert.deepEqual(texts(await send(healthy, 'still here')), ['still here']);
      await healthy.close();
    });

    it('an infinite loop is stopped at its deadline with reason Timeout, and its neighbour keeps serving', async () => {
      const started = performance.now();
      const result = await failingCall('loop-forever');
      assert.equal(result.reason, 'Timeout');
      assert.match(result.message, new RegExp(`${mode.timeoutMs} ms deadline`));
      assert.ok(performance.now() - started < 3_000);
    });

    it('a memory.grow bomb stops at the memory limit with reason OutOfMemory, without growing the agent', async () => {
      const rssBefore = process.memoryUsage().rss;
      const result = await failingCall('memory-grow-bomb');
      assert.equal(result.reason, 'OutOfMemory');
      assert.match(result.message, /memory limit of 16777216 bytes/);
      assert.ok(
        process.memoryUsage().rss - rssBefore < 200 * 1024 * 1024,
        'RSS stayed far below the 4 GiB the module asked for',
      );
    });

    it('a trap is reported as Trap with the engine message', async () => {
      const result = await failingCall('trap');
      assert.equal(result.reason, 'Trap');
      assert.match(result.message, /divide by zero/);
    });

    it('unbounded recursion is reported as a stack overflow', async () => {
      const result = await failingCall('deep-recursion');
      assert.equal(result.reason, 'Trap');
      assert.match(result.message, /stack overflow/);
    });

    it('a module asking for 4 GiB of initial memory is refused before it compiles', async () => {
      const error = await loadFails(await hostile('huge-initial-memory'));
      assert.equal(error.reason, 'OutOfMemory');
      assert.match(
        error.message,
        /4 GiB of initial memory; the limit is 16\.0 MiB|4 GiB of initial memory; the limit is 16 MiB/,
      );
    });

    it('a table of ten million elements is refused', async () => {
      const error = await loadFails(await hostile('huge-table'));
      assert.equal(error.reason, 'InvalidModule');
      assert.match(error.message, /table of 10000000 elements; the limit is 100000/);
    });

    it('a missing import is named in the reason', async () => {
      const error = await loadFails(await hostile('missing-import'));
      assert.equal(error.reason, 'MissingImport');
      assert.match(error.message, /"env"\."open_socket"/);
    });

    it('invalid bytes are refused as InvalidModule', async () => {
      const error = await loadFails(await hostile('invalid-bytes'));
      assert.equal(error.reason, 'InvalidModule');
    });

    it('a 50 MB module is refused as ModuleTooLarge without being compiled', async () => {
      const big = await paddedModule(50 * 1024 * 1024);
      assert.ok(big.length >= 50 * 1024 * 1024);
      const started = performance.now();
      const error = await loadFails(big);
      assert.equal(error.reason, 'ModuleTooLarge');
      assert.match(error.message, /50\.0 MiB; the limit is 32\.0 MiB|50 MiB; the limit is 32/);
      assert.ok(performance.now() - started < 100, 'refused without reading it');
    });

    it('a module without the ABI exports is refused as MissingExport', async () => {
      const bytes = await fixture('healthy/echo.wat');
      // The same bytes with "wf_handle" renamed: a valid module that is not a function.
      const renamed = Buffer.from(bytes).toString('latin1').replace('wf_handle', 'wf_hindle');
      const error = await loadFails(new Uint8Array(Buffer.from(renamed, 'latin1')));
      assert.equal(error.reason, 'MissingExport');
      assert.match(error.message, /"wf_handle"/);
    });
  });
