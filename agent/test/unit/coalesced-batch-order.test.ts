// SPDX-License-Identifier: Apache-2.0
// Regression (main's CI, test/fuzz/agent-inputs.test.ts, seed 1297146426): a function running in a
// worker published a coalesced batch's outputs after those of the batch behind it. The worker
// answered batch B asynchronously and batch C, coalesced while B ran, at once (its fast path);
// ManagedFunction started C before it answered B's callers, so C's outputs went out first and the
// healthy stream after the fuzz batch came out as healthy-0…49, 65…85, 50…64. Here a scripted
// runtime answers the first two batches later and the third at once, and the answers must reach
// their callers in the order the inputs came.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ManagedFunction } from '../../src/node/managed-function.ts';
import type { FunctionMessage, InvokeResult, LoadedFunction } from '../../src/runtime/types.ts';
import { ModuleStore, sha256Hex } from '../../src/store/module-store.ts';
import { fnSpec } from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';

const MODULE = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Echoes each input; batches answer later (released by the test) until `laterBatches` ran out. */
class ScriptedRuntime implements LoadedFunction {
  readonly kind = 'core' as const;
  readonly thread = 'worker' as const;
  readonly pending: (() => void)[] = [];
  #laterBatches: number;
  constructor(laterBatches: number) {
    this.#laterBatches = laterBatches;
  }

  invoke(input: FunctionMessage): Promise<InvokeResult> {
    return Promise.resolve(echo(input));
  }

  invokeBatch(inputs: readonly FunctionMessage[]): InvokeResult[] | Promise<InvokeResult[]> {
    const answers = inputs.map(echo);
    if (this.#laterBatches-- <= 0) return answers;
    return new Promise((resolve) => this.pending.push(() => resolve(answers)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function echo(input: FunctionMessage): InvokeResult {
  return { ok: true, outputs: [{ topic: 'out/dev-1/order', payload: input.payload }] };
}

const message = (text: string): FunctionMessage => ({
  topic: 'sensors/dev-1/order',
  payload: enc.encode(text),
  timestampMs: Date.now(),
});

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

it('answers a coalesced batch before the batch behind it, even one the runtime answers at once', async () => {
  await using dir = await tempDir();
  const store = new ModuleStore({ dir: dir.path });
  await store.put(sha256Hex(MODULE), MODULE);
  const runtime = new ScriptedRuntime(2);
  const fn = new ManagedFunction(
    fnSpec('order', MODULE, { limits: { memoryBytes: 1 << 20, timeoutMs: 2_000 } }),
    {
      nodeId: 'dev-1',
      dataDir: dir.path,
      store,
      sources: [],
      referenced: () => new Set(),
      load: () => Promise.resolve(runtime),
      signatures: { trusted: [], allowUnsigned: true },
      log: () => undefined,
      changed: () => undefined,
    },
  );
  await fn.start();
  assert.equal(fn.phase, 'Running');

  // What the agent does with each batch: publish its outputs when the answer arrives.
  const published: string[] = [];
  const send = (texts: string[]): void => {
    const answer = fn.invokeBatch(texts.map(message));
    const publish = (results: readonly InvokeResult[]): void => {
      for (const r of results) if (r.ok) for (const o of r.outputs) published.push(dec.decode(o.payload));
    };
    if (answer instanceof Promise) void answer.then(publish);
    else publish(answer);
  };

  send(['a']); // runs; answered later
  send(['b1', 'b2']); // coalesced behind a
  runtime.pending.shift()?.(); // a answered: b runs, answered later
  await turns(2);
  send(['c']); // coalesced behind b; the runtime will answer it at once
  runtime.pending.shift()?.(); // b answered: c runs and is answered at once
  await turns(2);

  assert.deepEqual(published, ['a', 'b1', 'b2', 'c']);
  await fn.stop();
});
